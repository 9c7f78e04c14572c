// WebSocket framing for the soak proxy's WebSocket-aware mode (RFC 6455 §5): splits a byte stream
// into whole frames and groups data frames into messages, so that the proxy can drop or duplicate a
// whole message while it forwards control frames untouched. Pure: no sockets, no timers.

/** What the reader cuts a stream into. `bytes` are always the exact bytes read, masked as they were. */
export type WsUnit =
  /** Bytes the reader does not parse: after a framing error, the stream is passed through as is. */
  | { kind: 'raw'; bytes: Buffer }
  /** A close, ping or pong frame (it may arrive between the fragments of a message). */
  | { kind: 'control'; opcode: number; bytes: Buffer }
  /** A whole text or binary message: its first frame through the one with FIN set. */
  | { kind: 'message'; opcode: number; bytes: Buffer; payload: Buffer; fragments: number };

/** Opcodes (RFC 6455 §5.2). */
export const WsOpcode = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

/** A frame's header, once enough bytes arrived to read it. */
interface Header {
  fin: boolean;
  opcode: number;
  mask: Buffer | undefined;
  /** Header length, mask key included. */
  headerLen: number;
  payloadLen: number;
}

/** Largest frame the reader accepts; beyond it the stream is treated as unparsable (passed through). */
const MAX_FRAME = 64 * 1024 * 1024;

/** Reads the header at the start of `buf`: undefined when more bytes are needed, null when it is invalid. */
export function readWsHeader(buf: Buffer): Header | undefined | null {
  if (buf.length < 2) return undefined;
  const b0 = buf[0] as number;
  const b1 = buf[1] as number;
  const fin = (b0 & 0x80) !== 0;
  const opcode = b0 & 0x0f;
  const masked = (b1 & 0x80) !== 0;
  let len = b1 & 0x7f;
  let at = 2;
  if (len === 126) {
    if (buf.length < 4) return undefined;
    len = buf.readUInt16BE(2);
    at = 4;
  } else if (len === 127) {
    if (buf.length < 10) return undefined;
    const big = buf.readBigUInt64BE(2);
    if (big > BigInt(MAX_FRAME)) return null;
    len = Number(big);
    at = 10;
  }
  const control = opcode >= 8;
  const known = opcode <= 2 || (opcode >= 8 && opcode <= 10);
  if (!known || (control && (!fin || len > 125)) || len > MAX_FRAME) return null;
  if (masked && buf.length < at + 4) return undefined;
  const mask = masked ? Buffer.from(buf.subarray(at, at + 4)) : undefined;
  return { fin, opcode, mask, headerLen: at + (masked ? 4 : 0), payloadLen: len };
}

/** XORs `payload` with the 4-byte mask key (masking and unmasking are the same operation). */
export function unmask(payload: Buffer, mask: Buffer | undefined): Buffer {
  if (!mask) return payload;
  const out = Buffer.allocUnsafe(payload.length);
  for (let i = 0; i < payload.length; i++) out[i] = (payload[i] as number) ^ (mask[i & 3] as number);
  return out;
}

/**
 * Cuts one direction of a WebSocket connection (after the HTTP upgrade) into {@link WsUnit}s.
 * Client-to-server frames must be masked and server-to-client frames must not (§5.1); a frame that
 * breaks that or any other framing rule turns the reader into a pass-through for the rest of the
 * stream, so that the proxy never breaks a stream it does not understand.
 */
export class WsFrameReader {
  /** Bytes not yet cut, as they came: joined only once there may be a whole frame in them. */
  private parts: Buffer[] = [];
  private held = 0;
  /** Bytes needed before the next frame can be complete. */
  private need = 2;
  private broken = false;
  /** The frames of a message whose final fragment has not arrived yet. */
  private partial: { opcode: number; raw: Buffer[]; payload: Buffer[] } | undefined;

  /** @param masked whether frames in this direction are masked (client to server). */
  constructor(private readonly masked: boolean) {}

  /** True once the stream stopped parsing and is passed through. */
  get passthrough(): boolean {
    return this.broken;
  }

  /** Takes the next bytes of the stream; returns the units they complete, in stream order. */
  push(chunk: Buffer): WsUnit[] {
    if (this.broken) return chunk.length > 0 ? [{ kind: 'raw', bytes: chunk }] : [];
    this.parts.push(chunk);
    this.held += chunk.length;
    const out: WsUnit[] = [];
    if (this.held < this.need) return out;
    let buffer = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts);
    for (;;) {
      const h = readWsHeader(buffer);
      if (h === undefined) {
        this.need = buffer.length + 1;
        break;
      }
      if (h === null || (h.mask !== undefined) !== this.masked) return this.breakOff(out, buffer);
      const total = h.headerLen + h.payloadLen;
      if (buffer.length < total) {
        this.need = total;
        break;
      }
      if (!this.take(h, buffer.subarray(0, total), out)) return this.breakOff(out, buffer);
      buffer = buffer.subarray(total);
      this.need = 2;
    }
    // What is left is copied, so that it does not pin the (possibly large) chunk it came from.
    this.parts = buffer.length > 0 ? [Buffer.from(buffer)] : [];
    this.held = buffer.length;
    return out;
  }

  /** Files one whole frame; false when it breaks the fragmentation rules. */
  private take(h: Header, bytes: Buffer, out: WsUnit[]): boolean {
    if (h.opcode >= 8) {
      out.push({ kind: 'control', opcode: h.opcode, bytes });
      return true;
    }
    const payload = unmask(bytes.subarray(h.headerLen), h.mask);
    if (h.opcode === WsOpcode.continuation) {
      if (!this.partial) return false;
      this.partial.raw.push(bytes);
      this.partial.payload.push(payload);
    } else {
      if (this.partial) return false;
      this.partial = { opcode: h.opcode, raw: [bytes], payload: [payload] };
    }
    if (!h.fin) return true;
    const { opcode, raw, payload: parts } = this.partial;
    this.partial = undefined;
    out.push({
      kind: 'message',
      opcode,
      bytes: raw.length === 1 ? (raw[0] as Buffer) : Buffer.concat(raw),
      payload: parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts),
      fragments: raw.length,
    });
    return true;
  }

  /** Gives up parsing: whatever is held goes out raw, in stream order, and so does everything after. */
  private breakOff(out: WsUnit[], rest: Buffer): WsUnit[] {
    this.broken = true;
    const bytes = Buffer.concat([...(this.partial?.raw ?? []), rest]);
    this.partial = undefined;
    this.parts = [];
    this.held = 0;
    if (bytes.length > 0) out.push({ kind: 'raw', bytes });
    return out;
  }
}

/** Where an HTTP head ends (the index after its blank line), or -1 while it is incomplete. */
export function headEnd(buf: Buffer): number {
  const at = buf.indexOf('\r\n\r\n');
  return at < 0 ? -1 : at + 4;
}

/** True for an HTTP request head that asks for a WebSocket upgrade. */
export function isUpgradeRequest(head: string): boolean {
  return /^GET /.test(head) && /\r\nupgrade:\s*websocket\s*\r\n/i.test(head);
}

/** True for an HTTP response head that accepts a WebSocket upgrade. */
export function isUpgradeResponse(head: string): boolean {
  return /^HTTP\/1\.1 101 /.test(head);
}
