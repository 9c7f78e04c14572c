// A TCP proxy that stands for a slower network between client and server: every byte is delayed by
// half the round-trip time in each direction, and the client→server direction of all connections
// together is limited to `upMbit` (one shared uplink, as a phone or home line has).
import { connect, createServer, type Server, type Socket } from 'node:net';

/** The emulated link. */
export interface LinkShape {
  rttMs: number;
  upMbit: number;
}

/** A running proxy; connect to `port` instead of the target. */
export interface LinkEmulator {
  port: number;
  close(): Promise<void>;
}

/**
 * Forwards what `from` sends to `to`, in order, each chunk `delayMs` after the shared uplink (when
 * given) finished carrying it.
 */
function pace(from: Socket, to: Socket, delayMs: number, uplink?: { bytesPerMs: number; freeAt: number }): void {
  const queue: { at: number; chunk: Buffer | null }[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const drain = () => {
    timer = undefined;
    const now = performance.now();
    while (queue.length > 0 && (queue[0] as { at: number }).at <= now) {
      const { chunk } = queue.shift() as { chunk: Buffer | null };
      if (chunk) to.write(chunk);
      else to.end();
    }
    if (queue.length > 0) timer = setTimeout(drain, Math.max(1, (queue[0] as { at: number }).at - now));
  };
  const push = (chunk: Buffer | null) => {
    const now = performance.now();
    let sent = now;
    if (uplink && chunk) {
      uplink.freeAt = Math.max(uplink.freeAt, now) + chunk.length / uplink.bytesPerMs;
      sent = uplink.freeAt;
    }
    const last = queue.at(-1)?.at ?? 0;
    const at = Math.max(last, sent + delayMs);
    if (queue.length === 0 && at <= now) {
      if (chunk) to.write(chunk);
      else to.end();
      return;
    }
    queue.push({ at, chunk });
    if (!timer) timer = setTimeout(drain, Math.max(1, (queue[0] as { at: number }).at - now));
  };
  from.on('data', (chunk: Buffer) => push(chunk));
  from.on('end', () => push(null));
  from.on('error', () => to.destroy());
}

/** Starts a proxy to `targetPort` on 127.0.0.1 shaped like `link`. */
export async function startLinkEmulator(targetPort: number, link: LinkShape): Promise<LinkEmulator> {
  const uplink = { bytesPerMs: (link.upMbit * 1e6) / 8 / 1000, freeAt: 0 };
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      s.setNoDelay(true);
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    pace(client, upstream, link.rttMs / 2, uplink);
    pace(upstream, client, link.rttMs / 2);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
