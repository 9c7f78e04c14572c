import { ErrorCode, ProtocolError } from './errors';
import { HEADER_LEN, readHeader, VERSION, writeHeader } from './header';
import { Op } from './ops';

/** One decoded frame. `body` is a view into the buffer it was decoded from. */
export interface Frame {
  op: number;
  seq: number;
  body: Uint8Array;
}

/** Receiver limits; anything beyond them is a typed error, never an allocation. */
export interface FrameLimits {
  /** Largest single frame in bytes, header included. */
  maxFrame: number;
  /** Most frames in one buffer (BATCH contents included). */
  maxFrames: number;
}

/** Default limits: 1 MiB frames, 256 frames per message. */
export const DEFAULT_LIMITS: FrameLimits = { maxFrame: 1 << 20, maxFrames: 256 };

const EMPTY = new Uint8Array(0);
const isU32 = (n: number) => Number.isInteger(n) && n >= 0 && n <= 0xffff_ffff;

/** Encodes one frame: the 16-byte header followed by `body`. */
export function encodeFrame(op: number, seq: number, body: Uint8Array = EMPTY): Uint8Array {
  if (!isU32(op) || !isU32(seq)) throw new ProtocolError(ErrorCode.BadFrame, `op ${op} and seq ${seq} must be u32`);
  const out = new Uint8Array(HEADER_LEN + body.length);
  writeHeader(new DataView(out.buffer), 0, { packLen: out.length, headerLen: HEADER_LEN, ver: VERSION, op, seq });
  out.set(body, HEADER_LEN);
  return out;
}

/** Concatenates encoded frames into one buffer. */
export function concatFrames(frames: readonly Uint8Array[]): Uint8Array {
  if (frames.length === 1) return frames[0] as Uint8Array;
  let len = 0;
  for (const f of frames) len += f.length;
  const out = new Uint8Array(len);
  let at = 0;
  for (const f of frames) {
    out.set(f, at);
    at += f.length;
  }
  return out;
}

/** Wraps several encoded frames into one BATCH frame (a single frame is sent as is). */
export function encodeBatch(frames: readonly Uint8Array[]): Uint8Array {
  return frames.length === 1 ? (frames[0] as Uint8Array) : encodeFrame(Op.BATCH, 0, concatFrames(frames));
}

/**
 * Splits a buffer (a WebSocket message or an HTTP body) into frames, flattening one level of BATCH.
 * Throws {@link ProtocolError} for any malformed input; it always terminates since every frame
 * consumes at least {@link HEADER_LEN} bytes.
 */
export function decodeFrames(buf: Uint8Array, limits: FrameLimits = DEFAULT_LIMITS): Frame[] {
  const out: Frame[] = [];
  split(buf, limits, out, false);
  return out;
}

function split(buf: Uint8Array, limits: FrameLimits, out: Frame[], inBatch: boolean): void {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.length === 0) throw new ProtocolError(ErrorCode.BadFrame, 'empty message');
  let at = 0;
  while (at < buf.length) {
    const h = readHeader(view, at, buf.length - at);
    if (h.packLen > limits.maxFrame) {
      throw new ProtocolError(ErrorCode.FrameTooLarge, `frame of ${h.packLen} bytes exceeds ${limits.maxFrame}`);
    }
    if (h.packLen > buf.length - at) {
      throw new ProtocolError(
        ErrorCode.BadFrame,
        `truncated frame: packLen ${h.packLen}, ${buf.length - at} bytes left`,
      );
    }
    if (h.ver !== VERSION) {
      throw new ProtocolError(
        ErrorCode.UnsupportedVersion,
        `protocol version ${h.ver} is not supported (speaks ${VERSION})`,
      );
    }
    const body = buf.subarray(at + h.headerLen, at + h.packLen);
    at += h.packLen;
    if (h.op === Op.BATCH) {
      if (inBatch) throw new ProtocolError(ErrorCode.BadBatch, 'BATCH inside BATCH');
      if (body.length > 0) split(body, limits, out, true);
      continue;
    }
    if (out.length >= limits.maxFrames) {
      throw new ProtocolError(ErrorCode.BadBatch, `more than ${limits.maxFrames} frames in one message`);
    }
    out.push({ op: h.op, seq: h.seq, body });
  }
}
