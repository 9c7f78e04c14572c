/**
 * Whether the first msgpack value in `bytes` can be complete, checked from its headers alone, without
 * allocating: every element an array or map header announces needs at least one more byte, so a value
 * whose announced elements outnumber the bytes left can never decode.
 *
 * This runs before the msgpack decoder, which preallocates `new Array(size)` for each array header
 * before it finds the elements missing: a 256 KiB body of nested `dc ff ff` headers (arrays of 65535)
 * would make it allocate tens of gigabytes and kill the process. A body that passes allocates at most
 * one array slot per byte. It only rejects bodies the decoder would reject anyway (as truncated).
 */
export function msgpackFits(bytes: Uint8Array): boolean {
  const end = bytes.length;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  /** Values still to read, each at least one byte long. */
  let pending = 1;
  while (pending > 0) {
    if (at >= end) return false;
    const b = bytes[at] as number;
    let head = 1;
    let payload = 0;
    let items = 0;
    if (b >= 0x80 && b <= 0x8f) items = (b & 0x0f) * 2;
    else if (b >= 0x90 && b <= 0x9f) items = b & 0x0f;
    else if (b >= 0xa0 && b <= 0xbf) payload = b & 0x1f;
    else if (b >= 0xc4 && b <= 0xdf) {
      switch (b) {
        case 0xc4: // bin 8/16/32
        case 0xd9: // str 8/16/32
          head = 2;
          payload = len(view, at, 1);
          break;
        case 0xc5:
        case 0xda:
          head = 3;
          payload = len(view, at, 2);
          break;
        case 0xc6:
        case 0xdb:
          head = 5;
          payload = len(view, at, 4);
          break;
        case 0xc7: // ext 8/16/32: length, then a type byte
          head = 3;
          payload = len(view, at, 1);
          break;
        case 0xc8:
          head = 4;
          payload = len(view, at, 2);
          break;
        case 0xc9:
          head = 6;
          payload = len(view, at, 4);
          break;
        case 0xca: // float 32/64
          head = 5;
          break;
        case 0xcb:
          head = 9;
          break;
        case 0xcc: // uint / int 8…64
        case 0xd0:
          head = 2;
          break;
        case 0xcd:
        case 0xd1:
          head = 3;
          break;
        case 0xce:
        case 0xd2:
          head = 5;
          break;
        case 0xcf:
        case 0xd3:
          head = 9;
          break;
        case 0xd4: // fixext 1/2/4/8/16: a type byte, then the data
          head = 3;
          break;
        case 0xd5:
          head = 4;
          break;
        case 0xd6:
          head = 6;
          break;
        case 0xd7:
          head = 10;
          break;
        case 0xd8:
          head = 18;
          break;
        case 0xdc: // array 16/32
          head = 3;
          items = len(view, at, 2);
          break;
        case 0xdd:
          head = 5;
          items = len(view, at, 4);
          break;
        case 0xde: // map 16/32
          head = 3;
          items = len(view, at, 2) * 2;
          break;
        case 0xdf:
          head = 5;
          items = len(view, at, 4) * 2;
          break;
      }
    } else if (b === 0xc1) return false; // never used
    // Everything else (fixints, nil, booleans) is the one byte.
    at += head + payload;
    if (at > end) return false;
    pending += items - 1;
    if (pending > end - at) return false;
  }
  return true;
}

/** The length field of `size` bytes after the type byte at `at`; infinite when it is cut off. */
function len(view: DataView, at: number, size: 1 | 2 | 4): number {
  if (at + 1 + size > view.byteLength) return Number.POSITIVE_INFINITY;
  return size === 1 ? view.getUint8(at + 1) : size === 2 ? view.getUint16(at + 1) : view.getUint32(at + 1);
}
