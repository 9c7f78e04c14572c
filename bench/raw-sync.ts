import { decodeBody, decodeFrames, encodeFrame, frame, Op } from '@synkey/protocol';
import WebSocket from 'ws';

/**
 * Pulls a user's whole timeline over one long link with SYNC pages of `limit` and no store and no
 * ACK (so nothing changes on the server): the wire-and-server share of a catch-up. Resolves with
 * the events pulled and the milliseconds from the first SYNC to the last reply.
 */
export async function rawSync(wsUrl: string, token: string, limit = 200): Promise<{ events: number; ms: number }> {
  const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const next = () =>
    new Promise<Uint8Array>((resolve) => {
      const on = (d: Buffer) => {
        const f = decodeFrames(new Uint8Array(d), { maxFrame: 1 << 24, maxFrames: 256 })[0];
        if (f?.op === Op.PING) return void ws.send(encodeFrame(Op.PONG, f.seq));
        if (f?.op === Op.NOTIFY) return;
        ws.off('message', on);
        resolve(new Uint8Array(d));
      };
      ws.on('message', on);
    });
  try {
    ws.send(frame(Op.AUTH, 1, { token, device: 'bench-raw-sync' }));
    const ok = decodeFrames(await next())[0];
    if (ok?.op !== Op.AUTH_OK) throw new Error(`AUTH failed: op ${ok?.op}`);
    const t0 = performance.now();
    let events = 0;
    let seq = 0;
    let epoch = 0;
    for (let s = 2; ; s++) {
      ws.send(frame(Op.SYNC, s, { epoch, seq, limit }));
      const f = decodeFrames(await next(), { maxFrame: 1 << 24, maxFrames: 256 })[0];
      if (f?.op !== Op.SYNC_REPLY) throw new Error(`SYNC failed: op ${f?.op}`);
      const body = decodeBody(Op.SYNC_REPLY, f.body);
      events += body.events.length;
      epoch = body.epoch;
      seq = body.seq;
      if (!body.more) break;
    }
    return { events, ms: performance.now() - t0 };
  } finally {
    ws.close();
  }
}
