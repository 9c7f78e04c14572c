// The msgpack subset frame bodies need (https://github.com/msgpack/msgpack/blob/master/spec.md).
// Writing: nil, booleans, safe integers, strings, binary and arrays, each in its smallest encoding.
// Reading: any msgpack value except extension types, integers past 2^53-1, invalid UTF-8 and values
// nested deeper than MAX_DEPTH.

/** A value {@link encode} can write. */
export type Packable = null | boolean | number | string | Uint8Array | readonly Packable[];

/** Deepest nesting {@link decode} accepts; bodies need a handful of levels, recursion needs a bound. */
export const MAX_DEPTH = 100;

// Every JavaScript runtime has these; the protocol package is typed without DOM or Node globals.
declare const TextEncoder: new () => { encodeInto(s: string, into: Uint8Array): unknown };
declare const TextDecoder: new (
  label: 'utf-8',
  options: { fatal: boolean; ignoreBOM: boolean },
) => { decode(bytes: Uint8Array): string };

const TWO_32 = 2 ** 32;
const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

let buf = new Uint8Array(1024);
let view = new DataView(buf.buffer);
let pos = 0;

/** Makes room for `n` more bytes. */
function room(n: number): void {
  if (pos + n <= buf.length) return;
  const next = new Uint8Array(Math.max(buf.length * 2, pos + n));
  next.set(buf.subarray(0, pos));
  buf = next;
  view = new DataView(buf.buffer);
}

/** Writes one byte. */
function byte(b: number): void {
  room(1);
  buf[pos++] = b;
}

/**
 * The header of `n` elements or bytes: the one-byte `fix | n` below `fixLimit`, else the 8-bit form
 * `t8` (if there is one), else the 16-bit form `t16` or the 32-bit one that follows it.
 */
function sized(n: number, fix: number, fixLimit: number, t8: number, t16: number): void {
  room(5);
  if (n < fixLimit) buf[pos++] = fix | n;
  else if (t8 && n < 0x100) {
    buf[pos++] = t8;
    buf[pos++] = n;
  } else if (n < 0x10000) {
    buf[pos++] = t16;
    view.setUint16(pos, n);
    pos += 2;
  } else {
    buf[pos++] = t16 + 1;
    view.setUint32(pos, n);
    pos += 4;
  }
}

/** A safe integer: fixint, else uint 8…64 (from 0xcc) or int 8…64 (from 0xd0), the narrowest that holds it. */
function int(v: number): void {
  room(9);
  if (v >= 0 ? v < 0x80 : v >= -0x20) {
    buf[pos++] = v & 0xff;
    return;
  }
  const k =
    v >= 0
      ? v < 0x100
        ? 0
        : v < 0x10000
          ? 1
          : v < TWO_32
            ? 2
            : 3
      : v >= -0x80
        ? 0
        : v >= -0x8000
          ? 1
          : v >= -TWO_32 / 2
            ? 2
            : 3;
  buf[pos++] = (v >= 0 ? 0xcc : 0xd0) + k;
  // The unsigned setters write a negative number's two's complement too.
  if (k === 0) view.setUint8(pos, v);
  else if (k === 1) view.setUint16(pos, v);
  else if (k === 2) view.setUint32(pos, v);
  else {
    view.setUint32(pos, Math.floor(v / TWO_32));
    view.setUint32(pos + 4, v);
  }
  pos += 1 << k;
}

/** UTF-8 length of `s` (a lone surrogate counts as the 3 bytes of U+FFFD, as TextEncoder writes it). */
function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n++;
    else if (c >= 0xd800 && c <= 0xdbff && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2;
      i++;
    } else n += 2;
  }
  return n;
}

function write(v: Packable): void {
  if (v === null) byte(0xc0);
  else if (typeof v === 'boolean') byte(v ? 0xc3 : 0xc2);
  else if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new TypeError(`msgpack: cannot write ${v}, only safe integers`);
    int(v);
  } else if (typeof v === 'string') {
    const n = utf8Length(v);
    sized(n, 0xa0, 32, 0xd9, 0xda);
    room(n);
    if (n === v.length) for (let i = 0; i < n; i++) buf[pos + i] = v.charCodeAt(i);
    else utf8.encodeInto(v, buf.subarray(pos, pos + n));
    pos += n;
  } else if (v instanceof Uint8Array) {
    sized(v.length, 0, 0, 0xc4, 0xc5);
    room(v.length);
    buf.set(v, pos);
    pos += v.length;
  } else if (Array.isArray(v)) {
    sized(v.length, 0x90, 16, 0, 0xdc);
    for (const item of v as readonly Packable[]) write(item);
  } else throw new TypeError(`msgpack: cannot write ${typeof v}`);
}

/** Encodes `value`, each part in its smallest msgpack encoding. */
export function encode(value: Packable): Uint8Array {
  pos = 0;
  write(value);
  return buf.slice(0, pos);
}

// The decoder's state: `decode` runs to completion before it can be called again.
const NOTHING = new Uint8Array(0);
let src: Uint8Array = NOTHING;
let data: DataView = new DataView(NOTHING.buffer);
let at = 0;
/** Values announced by the headers read so far but not read yet. */
let pending = 0;

/** The offset of the next `n` bytes, consumed. */
function take(n: number): number {
  if (at + n > src.length) throw new Error('truncated');
  at += n;
  return at - n;
}

const u8 = () => data.getUint8(take(1));
const u16 = () => data.getUint16(take(2));
const u32 = () => data.getUint32(take(4));

function safe(v: number): number {
  if (!Number.isSafeInteger(v)) throw new Error('integer beyond 2^53-1');
  return v;
}

function str(n: number): string {
  const from = take(n);
  // Short ASCII (ids, names) is common, and cheaper by hand than through TextDecoder.
  if (n < 32) {
    let s = '';
    for (let i = from; i < at; i++) {
      const c = src[i] as number;
      if (c > 0x7f) return strictUtf8.decode(src.subarray(from, at));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return strictUtf8.decode(src.subarray(from, at));
}

/** The `n` elements of an array, or the `n` key/value pairs of a map. */
function items(n: number, depth: number, map: boolean): unknown {
  pending += map ? 2 * n : n;
  // Each element takes at least one byte: refuse a header that announces more than are left.
  if (pending > src.length - at) throw new Error('truncated');
  if (depth >= MAX_DEPTH) throw new Error('nested too deeply');
  if (map) {
    const m = new Map<unknown, unknown>();
    for (let i = 0; i < n; i++) m.set(read(depth + 1), read(depth + 1));
    return m;
  }
  const a: unknown[] = [];
  for (let i = 0; i < n; i++) a.push(read(depth + 1));
  return a;
}

function read(depth: number): unknown {
  pending--;
  const b = u8();
  if (b < 0x80) return b;
  if (b < 0x90) return items(b & 0x0f, depth, true);
  if (b < 0xa0) return items(b & 0x0f, depth, false);
  if (b < 0xc0) return str(b & 0x1f);
  if (b >= 0xe0) return b - 0x100;
  switch (b) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xc4:
    case 0xc5:
    case 0xc6: {
      const n = b === 0xc4 ? u8() : b === 0xc5 ? u16() : u32();
      return new Uint8Array(src.subarray(take(n), at));
    }
    case 0xca:
      return data.getFloat32(take(4));
    case 0xcb:
      return data.getFloat64(take(8));
    case 0xcc:
      return u8();
    case 0xcd:
      return u16();
    case 0xce:
      return u32();
    case 0xcf:
      return safe(u32() * TWO_32 + u32());
    case 0xd0:
      return data.getInt8(take(1));
    case 0xd1:
      return data.getInt16(take(2));
    case 0xd2:
      return data.getInt32(take(4));
    case 0xd3:
      return safe(data.getInt32(take(4)) * TWO_32 + u32());
    case 0xd9:
      return str(u8());
    case 0xda:
      return str(u16());
    case 0xdb:
      return str(u32());
    case 0xdc:
    case 0xdd:
      return items(b === 0xdc ? u16() : u32(), depth, false);
    case 0xde:
    case 0xdf:
      return items(b === 0xde ? u16() : u32(), depth, true);
    case 0xc1:
      throw new Error('reserved byte 0xc1');
    default:
      throw new Error('extension types are not accepted');
  }
}

/**
 * Decodes one msgpack value that fills `bytes` exactly. Maps become `Map`s, bin becomes a copy.
 * Throws an Error when the bytes are not one complete value: truncated, trailing bytes, reserved byte
 * 0xc1, an extension type, an integer that is not safe, invalid UTF-8 or nesting past
 * {@link MAX_DEPTH}. It allocates no more than the bytes hold: every element a header announces
 * needs at least one more byte, so announcing more elements than bytes left is refused at the header.
 */
export function decode(bytes: Uint8Array): unknown {
  src = bytes;
  data = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  at = 0;
  pending = 1;
  try {
    const value = read(0);
    if (at !== bytes.length) throw new Error(`${bytes.length - at} bytes after the value`);
    return value;
  } finally {
    src = NOTHING; // let the caller's buffer go
    data = new DataView(NOTHING.buffer);
  }
}
