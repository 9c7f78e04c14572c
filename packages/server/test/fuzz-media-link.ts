// The link side of the media fuzzer: a raw long link that records the server's replies, the short link
// (POST /link), and VOICE_PART frames mutated in every field, header and byte, for the frame oracle.
import { type BodyOp, decodeBody, decodeFrames, frame, HEADER_LEN, Limits, Op, opName } from '@synkey/protocol';
import WebSocket from 'ws';
import {
  concat,
  Ext,
  Float,
  type FuzzInput,
  frameKey,
  type Mp,
  MpMap,
  pack,
  Raw,
  type Rng,
  rawFrame,
  Wide,
} from './fuzz-corpus';
import type { Got } from './fuzz-oracle';

/** Frames no client may see: what the SDK accepts from a server, at most. */
const INBOUND = { maxFrame: 16 << 20, maxFrames: 4096 };

/** Decodes a server message; throws on bytes a client could not read. */
export function decodeReplies(bytes: Uint8Array): Got[] {
  return decodeFrames(bytes, INBOUND).map((f) => ({
    op: f.op,
    seq: f.seq,
    body: decodeBody(f.op as BodyOp, f.body) as Record<string, unknown>,
  }));
}

/** A raw long link: everything the server sends is decoded and kept (pushes aside). */
export class MediaLink {
  replies: Got[] = [];
  close?: { code: number; reason: string };
  problems: string[] = [];
  private waiter: (() => void) | null = null;

  private constructor(readonly ws: WebSocket) {
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) this.problems.push('the server sent a text message');
      try {
        for (const g of decodeReplies(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))) {
          if (g.op === Op.PING && g.seq === 0) continue;
          if (g.op === Op.PING) {
            ws.send(frame(Op.PONG, g.seq, {}));
            continue;
          }
          if (g.op === Op.NOTIFY) continue;
          this.replies.push(g);
        }
      } catch (e) {
        this.problems.push(`the server sent undecodable frames: ${(e as Error).message}`);
      }
      this.wake();
    });
    ws.on('close', (code: number, reason: Buffer) => {
      this.close = { code, reason: reason.toString() };
      this.wake();
    });
    ws.on('error', () => {});
  }

  /** Opens a link and authenticates it with `token`; throws when that fails. */
  static async open(wsUrl: string, token: string, device: string, timeoutMs: number): Promise<MediaLink> {
    const ws = new WebSocket(wsUrl, { maxPayload: INBOUND.maxFrame });
    const link = new MediaLink(ws);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no WebSocket open within ${timeoutMs} ms`)), timeoutMs);
      ws.once('open', () => {
        clearTimeout(t);
        resolve();
      });
      ws.once('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
    });
    const [ok] = await link.exchange(frame(Op.AUTH, 1, { token, device }), [1], timeoutMs);
    if (ok?.op !== Op.AUTH_OK) {
      ws.terminate();
      throw new Error(`AUTH answered ${ok ? opName(ok.op) : 'nothing'}`);
    }
    return link;
  }

  get open(): boolean {
    return !this.close && this.ws.readyState === WebSocket.OPEN;
  }

  /** Sends one message and waits for a reply to each of `seqs` (or the close); returns the replies since. */
  async exchange(bytes: Uint8Array, seqs: number[], timeoutMs: number): Promise<Got[]> {
    this.replies = [];
    this.ws.send(bytes);
    await this.until(() => seqs.every((s) => this.replies.some((g) => g.seq === s)), timeoutMs);
    return this.replies;
  }

  /** Resolves true once `done()` holds or the link closed; false after `ms`. */
  async until(done: () => boolean, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!done() && !this.close) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    return true;
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  shut(): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close();
    else this.ws.terminate();
  }
}

/** POSTs `body` to the short link; the status and the decoded frames (a decode failure is thrown). */
export async function postLink(
  url: string,
  body: Uint8Array,
  timeoutMs: number,
): Promise<{ status: number; frames: Got[] }> {
  const res = await fetch(`${url}/link`, {
    method: 'POST',
    body: body as Uint8Array<ArrayBuffer>,
    headers: { 'content-type': 'application/octet-stream' },
    signal: AbortSignal.timeout(timeoutMs),
  });
  const bytes = new Uint8Array(await res.arrayBuffer());
  return { status: res.status, frames: bytes.length > 0 ? decodeReplies(bytes) : [] };
}

// ---------------------------------------------------------------------------------------------------
// Mutated VOICE_PART frames

/** A value of the wrong type, shape or size for any VOICE_PART field. */
function hostileValue(rng: Rng): Mp {
  return rng.weighted<() => Mp>([
    [5, () => -1],
    [4, () => 1.5],
    [3, () => new Float(2)],
    [3, () => new Float(Number.NaN)],
    [4, () => 2 ** 53],
    [4, () => new Wide(-1, 0xcf)],
    [3, () => new Wide(rng.int(100), 0xd3)],
    [4, () => Limits.maxVoicePart + 1],
    [3, () => 1024],
    [3, () => 2 ** 32],
    [5, () => ''],
    [4, () => 'x'.repeat(Limits.maxId + 1)],
    [3, () => '🙂'.repeat(33)],
    [4, () => true],
    [5, () => null],
    [4, () => []],
    [3, () => [1, 'two']],
    [3, () => new MpMap([['__proto__', new MpMap([['polluted', true]])]])],
    [4, () => rng.bytes(rng.int(40))],
    [2, () => new Uint8Array(Limits.maxVoicePart + rng.range(1, 64))],
    [3, () => new Ext(rng.int(256) - 128, rng.bytes(rng.int(8)))],
    [3, () => new Raw(Uint8Array.of(0xa3, 0xed, 0xa0, 0x80))], // a lone surrogate
    [3, () => new Raw(Uint8Array.of(0xa2, 0xc3, 0x28))], // invalid UTF-8
    [2, () => new Raw(Uint8Array.of(0xc6, 0xff, 0xff, 0xff, 0xff, 0x00))], // bin32 of 4 GiB
    [2, () => new Raw(Uint8Array.of(0xdd, 0xff, 0xff, 0xff, 0xff))],
    [2, () => new Raw(new Uint8Array(rng.range(50, 5000)).fill(0x91))],
  ])();
}

/** The fields of a VOICE_PART a client could send. */
function voiceFields(rng: Rng, upload: string): Mp[] {
  const data = rng.bytes(
    rng.weighted([
      [60, rng.int(200)],
      [20, rng.int(4096)],
      [5, Limits.maxVoicePart],
      [5, 0],
    ]),
  );
  if (rng.chance(0.3)) data.set([0x1a, 0x45, 0xdf, 0xa3].slice(0, data.length));
  const index = rng.weighted([
    [70, rng.int(6)],
    [10, rng.int(1024)],
    [5, 1023],
    [5, 1024],
    [3, Number.MAX_SAFE_INTEGER],
  ]);
  const fields: Mp[] = [upload, index, data];
  if (rng.chance(0.35)) {
    fields.push(true, rng.pick<Mp>(['audio/webm;codecs=opus', 'audio/ogg', 'video/mp4', null]));
    if (rng.chance(0.7)) fields.push(rng.pick([0, 1500, Limits.maxVoiceMs, Limits.maxVoiceMs * 10, 2 ** 40]));
  }
  return fields;
}

/**
 * One long- or short-link input of VOICE_PART frames for the frame oracle: fields of the wrong type or
 * size, fields missing or extra, hostile msgpack, headers and bytes damaged, several parts batched.
 */
export function voiceInput(rng: Rng, uploads: readonly string[], seq: () => number): FuzzInput {
  const count = rng.weighted<number>([
    [70, 1],
    [20, rng.range(2, 4)],
    [10, rng.range(5, 12)],
  ]);
  const frames: Uint8Array[] = [];
  const clean = new Set<string>();
  const notes: string[] = [];
  let mutated = 0;
  for (let i = 0; i < count; i++) {
    const fields = voiceFields(rng, rng.chance(0.9) ? rng.pick(uploads) : `v${rng.u32().toString(36)}`);
    let body: Uint8Array | undefined;
    const kind = rng.weighted<string>([
      [30, 'none'],
      [30, 'wrong-type'],
      [8, 'drop-field'],
      [6, 'cut'],
      [6, 'extra'],
      [5, 'not-array'],
      [4, 'trailing'],
      [4, 'random'],
      [3, 'nested'],
    ]);
    switch (kind) {
      case 'wrong-type':
        for (let n = rng.range(1, 2); n > 0; n--) fields[rng.int(6)] = hostileValue(rng);
        break;
      case 'drop-field':
        fields[rng.int(3)] = null;
        break;
      case 'cut':
        fields.length = rng.int(3);
        break;
      case 'extra':
        while (fields.length < 6) fields.push(null);
        for (let n = rng.range(1, 4); n > 0; n--) fields.push(hostileValue(rng));
        break;
      case 'not-array':
        body = pack(
          rng.pick<Mp>([
            new MpMap([
              ['upload', 'x'],
              ['__proto__', 1],
            ]),
            'str',
            7,
            null,
            Uint8Array.of(1),
          ]),
        );
        break;
      case 'trailing':
        body = concat([pack(fields), rng.bytes(rng.range(1, 8))]);
        break;
      case 'random':
        body = rng.bytes(rng.range(1, 64));
        break;
      case 'nested':
        body = new Uint8Array(rng.range(100, 20_000)).fill(0x91);
        break;
    }
    for (let k = 0; k < fields.length; k++) fields[k] ??= null;
    while (fields.length > 0 && fields[fields.length - 1] === null && kind !== 'drop-field') fields.pop();
    const s = seq();
    let f = rawFrame(Op.VOICE_PART, s, body ?? pack(fields));
    const header = rng.chance(0.08);
    if (header) {
      const view = new DataView(f.buffer, f.byteOffset, f.byteLength);
      const h = rng.weighted<string>([
        [4, 'op'],
        [3, 'seq0'],
        [3, 'packLen'],
      ]);
      notes.push(`header:${h}`);
      if (h === 'op') view.setUint32(8, rng.pick([Op.PART_ACK, Op.SEND, 29, 32, 0xffffffff]));
      else if (h === 'seq0') view.setUint32(12, 0);
      else view.setUint32(0, rng.pick([0, HEADER_LEN - 1, f.length + 1, 0xffffffff]));
      f = f.slice();
    }
    if (kind === 'none' && !header) clean.add(frameKey({ op: Op.VOICE_PART, seq: s, body: f.subarray(HEADER_LEN) }));
    else {
      mutated++;
      notes.push(`voice:${kind}`);
    }
    frames.push(f);
  }
  let bytes = count > 1 && rng.chance(0.3) ? rawFrame(Op.BATCH, 0, concat(frames)) : concat(frames);
  if (rng.chance(0.06)) {
    const n = bytes.length;
    notes.push('bytes:damaged');
    bytes = rng.chance(0.5) ? bytes.slice(0, rng.int(n)) : bytes.slice();
    if (bytes.length > 0) {
      const i = rng.int(bytes.length);
      bytes[i] = bytes[i]! ^ (1 << rng.int(8));
    }
    mutated = Math.max(1, mutated);
  }
  return { kind: 'binary', bytes, frames: count, mutated, clean, notes };
}
