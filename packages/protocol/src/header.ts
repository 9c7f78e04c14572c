import { ErrorCode, ProtocolError } from './errors';

/** Length of the fixed header this version writes. */
export const HEADER_LEN = 16;
/** The protocol version this package speaks. */
export const VERSION = 1;

/** The decoded 16-byte frame header. */
export interface Header {
  /** Whole frame length, header included. */
  packLen: number;
  /** Header length; readers skip bytes beyond the 16 they know. */
  headerLen: number;
  ver: number;
  op: number;
  /** Request id on this link; replies echo it; 0 for unsolicited pushes. */
  seq: number;
}

/** Writes a header at `offset` of `view`. */
export function writeHeader(view: DataView, offset: number, h: Header): void {
  view.setUint32(offset, h.packLen);
  view.setUint16(offset + 4, h.headerLen);
  view.setUint16(offset + 6, h.ver);
  view.setUint32(offset + 8, h.op);
  view.setUint32(offset + 12, h.seq);
}

/**
 * Reads the header at `offset` and checks that it is self-consistent: the 16 header bytes are
 * available, headerLen ≥ 16 and packLen ≥ headerLen. (Whether the whole frame is present is the
 * caller's check.) Throws {@link ProtocolError} for a short buffer or a bad headerLen/packLen.
 */
export function readHeader(view: DataView, offset: number, available: number): Header {
  if (available < HEADER_LEN) {
    throw new ProtocolError(ErrorCode.BadFrame, `truncated header: ${available} of ${HEADER_LEN} bytes`);
  }
  const h: Header = {
    packLen: view.getUint32(offset),
    headerLen: view.getUint16(offset + 4),
    ver: view.getUint16(offset + 6),
    op: view.getUint32(offset + 8),
    seq: view.getUint32(offset + 12),
  };
  if (h.headerLen < HEADER_LEN) {
    throw new ProtocolError(ErrorCode.BadFrame, `headerLen ${h.headerLen} is below ${HEADER_LEN}`);
  }
  if (h.packLen < h.headerLen) {
    throw new ProtocolError(ErrorCode.BadFrame, `packLen ${h.packLen} is below headerLen ${h.headerLen}`);
  }
  return h;
}
