// A TCP proxy that stands for a slower network between client and server: every byte is delayed by
// half the round-trip time in each direction, the client→server direction of all connections
// together is limited to `upMbit` (one shared uplink, as a phone or home line has) and, when given,
// the server→client direction to `downMbit` (one shared downlink). Several proxies can share one
// link (a site and its chat server reached over the same line).
import { connect, createServer, type Server, type Socket } from 'node:net';

/** The emulated link. */
export interface LinkShape {
  rttMs: number;
  upMbit: number;
  /** The shared downlink; unlimited when absent. */
  downMbit?: number;
  /**
   * A new connection's first bytes wait one more round trip, as TCP's handshake makes them (the
   * proxy itself accepts at once). Off when absent.
   */
  handshake?: boolean;
}

/** One direction of a link, shared by all its connections: it carries one byte after another. */
export interface Lane {
  bytesPerMs: number;
  /** When the bytes already handed to it will all be through (performance.now() time). */
  freeAt: number;
}

/** A link that proxies can share: its shape and its lanes. */
export interface Link {
  shape: LinkShape;
  up: Lane;
  down?: Lane;
}

/** What a proxy reports as it goes. */
export interface EmulatorOptions {
  /** Called with what leaves the link: `up` reached the server, `down` reached the client. */
  onDeliver?: (direction: 'up' | 'down', chunk: Buffer) => void;
  /** Called when a client opens a connection. */
  onConnection?: () => void;
}

/** A running proxy; connect to `port` instead of the target. */
export interface LinkEmulator {
  port: number;
  close(): Promise<void>;
}

/** Pieces a limited lane carries one at a time, so that a large read arrives gradually, as on a real line. */
const PIECE = 16 * 1024;

/** An idle lane of `mbit` megabits per second. */
export function laneOf(mbit: number): Lane {
  return { bytesPerMs: (mbit * 1e6) / 8 / 1000, freeAt: 0 };
}

/**
 * Hands `bytes` to `lane` at time `now`: they go after whatever it still carries. Advances the lane
 * and returns when their last byte is through.
 */
export function carry(lane: Lane, now: number, bytes: number): number {
  lane.freeAt = Math.max(lane.freeAt, now) + bytes / lane.bytesPerMs;
  return lane.freeAt;
}

/** A link of `shape`, for proxies to share. */
export function createLink(shape: LinkShape): Link {
  return { shape, up: laneOf(shape.upMbit), ...(shape.downMbit ? { down: laneOf(shape.downMbit) } : {}) };
}

/** `chunk` in pieces of at most {@link PIECE} bytes. */
function pieces(chunk: Buffer): Buffer[] {
  if (chunk.length <= PIECE) return [chunk];
  const out: Buffer[] = [];
  for (let at = 0; at < chunk.length; at += PIECE) out.push(chunk.subarray(at, at + PIECE));
  return out;
}

/**
 * Forwards what `from` sends to `to`, in order, each piece `delayMs` after `lane` (when given)
 * finished carrying it; nothing is handed to the lane before `notBefore` (performance.now() time).
 */
function pace(
  from: Socket,
  to: Socket,
  delayMs: number,
  lane: Lane | undefined,
  notBefore: number,
  delivered: (chunk: Buffer) => void,
): void {
  const queue: { at: number; chunk: Buffer | null }[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const forward = (chunk: Buffer | null) => {
    if (!chunk) {
      to.end();
      return;
    }
    to.write(chunk);
    delivered(chunk);
  };
  const drain = () => {
    timer = undefined;
    const now = performance.now();
    while (queue.length > 0 && (queue[0] as { at: number }).at <= now)
      forward((queue.shift() as { chunk: Buffer | null }).chunk);
    if (queue.length > 0) timer = setTimeout(drain, Math.max(1, (queue[0] as { at: number }).at - now));
  };
  const push = (chunk: Buffer | null) => {
    const now = performance.now();
    for (const piece of chunk && lane ? pieces(chunk) : [chunk]) {
      const sent = lane && piece ? carry(lane, now, piece.length) : now;
      const at = Math.max(queue.at(-1)?.at ?? 0, sent + delayMs);
      if (queue.length === 0 && at <= now) {
        forward(piece);
        continue;
      }
      queue.push({ at, chunk: piece });
    }
    if (queue.length > 0 && !timer) timer = setTimeout(drain, Math.max(1, (queue[0] as { at: number }).at - now));
  };
  // Before `notBefore` what `from` sends waits outside the lane, so that it holds up no other connection.
  const held: (Buffer | null)[] = [];
  let open = performance.now() >= notBefore;
  if (!open)
    setTimeout(() => {
      open = true;
      for (const chunk of held.splice(0)) push(chunk);
    }, notBefore - performance.now());
  const take = (chunk: Buffer | null) => (open ? push(chunk) : held.push(chunk));
  from.on('data', (chunk: Buffer) => take(chunk));
  from.on('end', () => take(null));
  from.on('error', () => to.destroy());
}

/** Starts a proxy to `targetPort` on 127.0.0.1 over `link` (a shape, or a link shared with other proxies). */
export async function startLinkEmulator(
  targetPort: number,
  link: LinkShape | Link,
  options: EmulatorOptions = {},
): Promise<LinkEmulator> {
  const shared = 'shape' in link ? link : createLink(link);
  const { rttMs, handshake } = shared.shape;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    options.onConnection?.();
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      s.setNoDelay(true);
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    const opened = performance.now() + (handshake ? rttMs : 0);
    pace(client, upstream, rttMs / 2, shared.up, opened, (n) => options.onDeliver?.('up', n));
    pace(upstream, client, rttMs / 2, shared.down, 0, (n) => options.onDeliver?.('down', n));
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
