import {
  type BodyOf,
  type BodyOp,
  decodeBody,
  decodeFrames,
  encodeBatch,
  type Frame,
  frame,
  HEADER_LEN,
  Op,
} from '@synkey/protocol';
import WebSocket from 'ws';

/** A decoded frame as the tests see it. */
export interface Got {
  op: number;
  seq: number;
  body: Record<string, unknown>;
  /** The frame's size on the wire. */
  bytes: number;
}

function decodeAny(f: Frame): Got {
  const bytes = HEADER_LEN + f.body.length;
  try {
    return { op: f.op, seq: f.seq, body: decodeBody(f.op as BodyOp, f.body) as Record<string, unknown>, bytes };
  } catch {
    return { op: f.op, seq: f.seq, body: {}, bytes };
  }
}

/** A protocol client over a raw WebSocket, with no retries or smarts: it sends what the test says. */
export class RawClient {
  readonly got: Got[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private nextSeq = 1;
  private waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data: Buffer) => {
      for (const f of decodeFrames(new Uint8Array(data))) this.got.push(decodeAny(f));
      for (const w of this.waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        for (const w of this.waiters.splice(0)) w();
      });
    });
  }

  /** Opens a WebSocket to `url` (extra options e.g. for TLS). */
  static open(url: string, opts: WebSocket.ClientOptions = {}): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, opts);
      const c = new RawClient(ws);
      ws.once('open', () => resolve(c));
      ws.once('error', reject);
    });
  }

  /** Opens a link and authenticates it; resolves with the AUTH_OK body. */
  static async login(url: string, token: string, device = 'dev1', opts: WebSocket.ClientOptions = {}) {
    const c = await RawClient.open(url, opts);
    const ok = await c.request(Op.AUTH, { token, device });
    if (ok.op !== Op.AUTH_OK) throw new Error(`login failed: ${JSON.stringify(ok.body)}`);
    return { client: c, ok: ok.body as BodyOf<typeof Op.AUTH_OK> };
  }

  /** Sends raw bytes. */
  sendRaw(bytes: Uint8Array): void {
    this.ws.send(bytes);
  }

  /** Sends several requests in one WebSocket message; returns their seqs. */
  sendMany<O extends BodyOp>(op: O, bodies: BodyOf<O>[]): number[] {
    const seqs = bodies.map(() => this.nextSeq++);
    this.ws.send(encodeBatch(bodies.map((b, i) => frame(op, seqs[i]!, b))));
    return seqs;
  }

  /** Sends one request and resolves with its reply (any op with the same seq). */
  async request<O extends BodyOp>(op: O, body: BodyOf<O>): Promise<Got> {
    const seq = this.nextSeq++;
    this.ws.send(frame(op, seq, body));
    return this.next((g) => g.seq === seq && g.op !== Op.PING);
  }

  /** Resolves with the first received frame matching `pred` (searching what already arrived). */
  async next(pred: (g: Got) => boolean, timeoutMs = 5000): Promise<Got> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.got.find(pred);
      if (hit) return hit;
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error('link closed while waiting');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; got ops ${this.got.map((g) => g.op).join(',')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.ws.close();
  }
}

/** Posts frames to the short link; resolves with the status and decoded reply frames. */
export async function postLink(url: string, frames: Uint8Array[]): Promise<{ status: number; got: Got[] }> {
  const res = await fetch(`${url}/link`, {
    method: 'POST',
    body: Buffer.concat(frames),
    headers: { 'content-type': 'application/octet-stream' },
  });
  const buf = new Uint8Array(await res.arrayBuffer());
  return { status: res.status, got: buf.length ? decodeFrames(buf).map(decodeAny) : [] };
}
