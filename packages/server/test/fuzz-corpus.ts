// Fuzz inputs for the server's frame handling: a seeded PRNG, a msgpack writer that can also write
// what no encoder would (wrong widths, raw headers, invalid UTF-8), a corpus of valid frames for every
// client op, and the mutators that bend them — header fields, body fields, bytes, and whole messages.
import { HEADER_LEN, Limits, Op, VERSION } from '@synkey/protocol';

/** A small fast seeded PRNG (sfc32), so a run can be repeated from its seed. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    for (let i = 0; i < 15; i++) this.u32();
  }

  u32(): number {
    this.a >>>= 0;
    this.b >>>= 0;
    this.c >>>= 0;
    this.d >>>= 0;
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A number in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }

  /** Picks by weight: `[[weight, value], …]`. */
  weighted<T>(xs: readonly (readonly [number, T])[]): T {
    let total = 0;
    for (const [w] of xs) total += w;
    let r = this.next() * total;
    for (const [w, v] of xs) {
      r -= w;
      if (r < 0) return v;
    }
    return (xs.at(-1) as readonly [number, T])[1];
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }

  /** An independent generator derived from this one. */
  fork(): Rng {
    return new Rng(this.u32());
  }
}

// ---------------------------------------------------------------------------------------------------
// msgpack writer

/** Bytes written as they are, in place of a value. */
export class Raw {
  constructor(readonly bytes: Uint8Array) {}
}
/** A float64, even for an integral value. */
export class Float {
  constructor(readonly value: number) {}
}
/** An integer in a chosen (possibly not the shortest) encoding. */
export class Wide {
  constructor(
    readonly value: number,
    readonly tag: 0xcc | 0xcd | 0xce | 0xcf | 0xd0 | 0xd1 | 0xd2 | 0xd3,
  ) {}
}
/** A msgpack map with the given entries, in order. */
export class MpMap {
  constructor(readonly entries: [Mp, Mp][]) {}
}
/** An ext value. */
export class Ext {
  constructor(
    readonly type: number,
    readonly data: Uint8Array,
  ) {}
}
export type Mp = null | boolean | number | string | Uint8Array | Raw | Float | Wide | MpMap | Ext | Mp[];

class Writer {
  private parts: Uint8Array[] = [];
  private cur = new Uint8Array(256);
  private at = 0;

  byte(b: number): void {
    if (this.at === this.cur.length) this.spill();
    this.cur[this.at++] = b & 0xff;
  }

  u16(n: number): void {
    this.byte(n >>> 8);
    this.byte(n);
  }

  u32(n: number): void {
    this.u16(n >>> 16);
    this.u16(n & 0xffff);
  }

  u64(n: bigint): void {
    const v = BigInt.asUintN(64, n);
    this.u32(Number(v >> 32n));
    this.u32(Number(v & 0xffffffffn));
  }

  bytes(b: Uint8Array): void {
    if (b.length < 64) {
      for (const x of b) this.byte(x);
      return;
    }
    this.spill();
    this.parts.push(b);
  }

  private spill(): void {
    if (this.at > 0) this.parts.push(this.cur.subarray(0, this.at));
    this.cur = new Uint8Array(256);
    this.at = 0;
  }

  done(): Uint8Array {
    this.spill();
    return concat(this.parts);
  }
}

const utf8 = new TextEncoder();

function write(w: Writer, v: Mp): void {
  if (v === null) w.byte(0xc0);
  else if (v === true) w.byte(0xc3);
  else if (v === false) w.byte(0xc2);
  else if (typeof v === 'number') writeNumber(w, v);
  else if (typeof v === 'string') {
    const b = utf8.encode(v);
    if (b.length < 32) w.byte(0xa0 | b.length);
    else if (b.length < 0x100) {
      w.byte(0xd9);
      w.byte(b.length);
    } else if (b.length < 0x10000) {
      w.byte(0xda);
      w.u16(b.length);
    } else {
      w.byte(0xdb);
      w.u32(b.length);
    }
    w.bytes(b);
  } else if (v instanceof Uint8Array) {
    if (v.length < 0x100) {
      w.byte(0xc4);
      w.byte(v.length);
    } else if (v.length < 0x10000) {
      w.byte(0xc5);
      w.u16(v.length);
    } else {
      w.byte(0xc6);
      w.u32(v.length);
    }
    w.bytes(v);
  } else if (v instanceof Raw) w.bytes(v.bytes);
  else if (v instanceof Float) {
    w.byte(0xcb);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v.value);
    w.bytes(b);
  } else if (v instanceof Wide) {
    w.byte(v.tag);
    const n = BigInt(Math.trunc(v.value));
    if (v.tag === 0xcc || v.tag === 0xd0) w.byte(Number(BigInt.asUintN(8, n)));
    else if (v.tag === 0xcd || v.tag === 0xd1) w.u16(Number(BigInt.asUintN(16, n)));
    else if (v.tag === 0xce || v.tag === 0xd2) w.u32(Number(BigInt.asUintN(32, n)));
    else w.u64(n);
  } else if (v instanceof MpMap) {
    const n = v.entries.length;
    if (n < 16) w.byte(0x80 | n);
    else if (n < 0x10000) {
      w.byte(0xde);
      w.u16(n);
    } else {
      w.byte(0xdf);
      w.u32(n);
    }
    for (const [k, x] of v.entries) {
      write(w, k);
      write(w, x);
    }
  } else if (v instanceof Ext) {
    w.byte(0xc7);
    w.byte(v.data.length);
    w.byte(v.type);
    w.bytes(v.data);
  } else {
    const n = v.length;
    if (n < 16) w.byte(0x90 | n);
    else if (n < 0x10000) {
      w.byte(0xdc);
      w.u16(n);
    } else {
      w.byte(0xdd);
      w.u32(n);
    }
    for (const x of v) write(w, x);
  }
}

function writeNumber(w: Writer, v: number): void {
  if (!Number.isInteger(v) || Math.abs(v) > 2 ** 64) {
    write(w, new Float(v));
  } else if (v >= 0) {
    if (v < 0x80) w.byte(v);
    else if (v < 0x100) write(w, new Wide(v, 0xcc));
    else if (v < 0x10000) write(w, new Wide(v, 0xcd));
    else if (v < 2 ** 32) write(w, new Wide(v, 0xce));
    else write(w, new Wide(v, 0xcf));
  } else if (v >= -32) w.byte(v & 0xff);
  else if (v >= -128) write(w, new Wide(v, 0xd0));
  else if (v >= -32768) write(w, new Wide(v, 0xd1));
  else if (v >= -(2 ** 31)) write(w, new Wide(v, 0xd2));
  else write(w, new Wide(v, 0xd3));
}

/** Encodes a value as msgpack, exactly as described (no validation). */
export function pack(v: Mp): Uint8Array {
  const w = new Writer();
  write(w, v);
  return w.done();
}

/** Identifies a frame within one input (its seq is unique there unless mutated). */
export function frameKey(f: { op: number; seq: number; body: Uint8Array }): string {
  return `${f.op}:${f.seq}:${Buffer.from(f.body.buffer, f.body.byteOffset, f.body.byteLength).toString('base64')}`;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A frame: the header (any values) followed by `body`; `extra` bytes extend the header. */
export function rawFrame(
  op: number,
  seq: number,
  body: Uint8Array,
  h: { packLen?: number; headerLen?: number; ver?: number; extra?: Uint8Array } = {},
): Uint8Array {
  const extra = h.extra ?? new Uint8Array(0);
  const out = new Uint8Array(HEADER_LEN + extra.length + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, (h.packLen ?? out.length) >>> 0);
  view.setUint16(4, (h.headerLen ?? HEADER_LEN + extra.length) & 0xffff);
  view.setUint16(6, (h.ver ?? VERSION) & 0xffff);
  view.setUint32(8, op >>> 0);
  view.setUint32(12, seq >>> 0);
  out.set(extra, HEADER_LEN);
  out.set(body, HEADER_LEN + extra.length);
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Corpus: valid frames for every client op

/** What a fuzzer knows about the session its frames are meant for. */
export interface FuzzContext {
  user: string;
  token: string;
  device: string;
  epoch: number;
  /** Conversation ids to aim at: its own, shared, foreign and missing ones. */
  convs: number[];
  /** User ids to name as members. */
  peers: string[];
  maxFrame: number;
  /** Tokens the server must refuse: expired, signed with another secret, not a JWT. */
  badTokens: string[];
}

/** A frame before encoding: its body as a field array (null: an empty body) or as raw bytes. */
interface Draft {
  op: number;
  seq: number;
  fields: Mp[] | null;
  body?: Uint8Array;
  notes: string[];
}

/** Client ops, by how often the corpus uses them. */
const CLIENT_OPS: readonly (readonly [number, number])[] = [
  [20, Op.SEND],
  [12, Op.SYNC],
  [8, Op.ACK],
  [7, Op.READ],
  [3, Op.CONV_CREATE],
  [4, Op.CONV_LIST],
  [10, Op.HISTORY],
  [6, Op.POLL],
  [9, Op.PING],
  [2, Op.PONG],
  [2, Op.AUTH],
  [3, -1], // an op a client must not send, or an unknown one
];
const SERVER_OPS = [Op.AUTH_OK, Op.ERROR, Op.OK, Op.NOTIFY, Op.SEND_ACK, Op.SYNC_REPLY, Op.CONV, Op.CONV_LIST_REPLY];
const OTHER_OPS = [...SERVER_OPS, Op.HISTORY_REPLY, 0, 9, 17, 26, 999, 0x7fffffff, 0xffffffff];

const TEXTS = [
  'hello',
  'hi 👋 there',
  '中文消息',
  '  padded  ',
  'line\nbreak\ttab',
  '\u202eRTL override',
  'nul\u0000inside',
  'e\u0301 combining',
];

function text(rng: Rng, cheap: boolean): string {
  if (cheap) return `${rng.pick(TEXTS)} #${rng.u32().toString(36)}`;
  return rng.weighted<() => string>([
    [180, () => `${rng.pick(TEXTS)} #${rng.u32().toString(36)}`],
    [1, () => 'x'.repeat(Limits.maxText)],
    [1, () => '中'.repeat(Limits.maxText)], // 24 KB of UTF-8
    [1, () => '😀'.repeat(Limits.maxText / 2)],
    [4, () => 'x'.repeat(Limits.maxText + 1)],
    [4, () => '   '],
    [4, () => ''],
    [5, () => 'y'.repeat(rng.range(100, 2000))],
  ])();
}

function id(rng: Rng): string {
  return rng.weighted<() => string>([
    [80, () => `c${rng.u32().toString(36)}${rng.u32().toString(36)}`],
    [5, () => 'dup-cmid'],
    [4, () => 'z'.repeat(Limits.maxId)],
    [4, () => 'z'.repeat(Limits.maxId + 1)],
    [4, () => ''],
    [3, () => '🙂'.repeat(32)], // 64 units
  ])();
}

function uint(rng: Rng, small: number): number {
  return rng.weighted<() => number>([
    [60, () => rng.int(small)],
    [10, () => 0],
    [8, () => rng.u32()],
    [6, () => Number.MAX_SAFE_INTEGER],
    [6, () => 2 ** 32],
    [5, () => 2 ** 31 - 1],
    [5, () => rng.int(2 ** 20)],
  ])();
}

function epoch(rng: Rng, ctx: FuzzContext): number {
  return rng.weighted<() => number>([
    [80, () => ctx.epoch],
    [8, () => 0],
    [6, () => (ctx.epoch + 1) >>> 0],
    [6, () => uint(rng, 1000)],
  ])();
}

function conv(rng: Rng, ctx: FuzzContext): number {
  return rng.chance(0.9) ? rng.pick(ctx.convs) : uint(rng, 100);
}

function members(rng: Rng, ctx: FuzzContext): Mp[] {
  return rng.weighted<() => Mp[]>([
    [40, () => [rng.pick(ctx.peers)]],
    [20, () => [`u${rng.u32().toString(36)}`]],
    [10, () => [ctx.user]],
    [10, () => Array.from({ length: rng.range(2, 6) }, () => rng.pick(ctx.peers))],
    [6, () => []],
    [4, () => Array.from({ length: rng.range(2, 5) }, () => id(rng))],
    [2, () => Array.from({ length: Limits.maxMembers + rng.int(3) }, (_, i) => `m${i}`)],
    [1, () => Array.from({ length: rng.range(50, 200) }, () => `u${rng.u32().toString(36)}`)],
  ])();
}

/** Drops trailing nils, as writers do. */
function trim(fields: Mp[]): Mp[] {
  let n = fields.length;
  while (n > 0 && fields[n - 1] === null) n--;
  return fields.slice(0, n);
}

/**
 * A frame a correct client could send, for a random op. `cheap` keeps replies small (short texts,
 * small pages), for messages of many frames.
 */
function validDraft(rng: Rng, ctx: FuzzContext, seq: number, cheap = false): Draft {
  let op = rng.weighted(CLIENT_OPS);
  const opt = <T extends Mp>(p: number, v: () => T): T | null => (rng.chance(p) ? v() : null);
  let fields: Mp[] | null;
  switch (op) {
    case Op.AUTH:
      fields = [rng.chance(0.85) ? ctx.token : rng.pick(ctx.badTokens), ctx.device, opt(0.5, () => 'synkey-fuzz/1')];
      break;
    case Op.SEND:
      fields = [
        id(rng),
        conv(rng, ctx),
        rng.chance(0.9) ? 1 : rng.pick([0, 2, 3, 99]),
        text(rng, cheap),
        opt(0.2, () => id(rng)),
      ];
      break;
    case Op.SYNC:
      fields = [epoch(rng, ctx), uint(rng, 200), cheap ? rng.range(1, 3) : opt(0.4, () => uint(rng, 600))];
      break;
    case Op.ACK:
      fields = [epoch(rng, ctx), uint(rng, 200)];
      break;
    case Op.READ:
      fields = [conv(rng, ctx), uint(rng, 200)];
      break;
    case Op.CONV_CREATE:
      fields = [
        cheap
          ? 1
          : rng.weighted([
              [45, 1],
              [45, 2],
              [10, rng.int(5)],
            ]),
        cheap ? [rng.pick(ctx.peers)] : members(rng, ctx),
        opt(0.5, () =>
          rng.weighted<() => string>([
            [80, () => `room ${rng.u32().toString(36)}`],
            [10, () => 't'.repeat(Limits.maxTitle + 1)],
            [10, () => '  '],
          ])(),
        ),
      ];
      break;
    case Op.HISTORY:
      fields = [
        conv(rng, ctx),
        opt(0.4, () => uint(rng, 100)),
        cheap ? rng.range(1, 3) : opt(0.5, () => uint(rng, 250)),
      ];
      break;
    case Op.POLL:
      fields = [
        epoch(rng, ctx),
        uint(rng, 200),
        rng.weighted<number | null>([
          [60, rng.int(50)],
          [25, 0],
          [10, rng.int(1000)],
          [3, null],
          [2, 2 ** 40],
        ]),
      ];
      break;
    case Op.CONV_LIST:
    case Op.PING:
    case Op.PONG:
      fields = null;
      break;
    default:
      op = rng.pick(OTHER_OPS);
      fields = rng.chance(0.5) ? null : [rng.pick<Mp>(['x', 1, true, [], null])];
  }
  return { op, seq, fields: fields && trim(fields), notes: [`op ${op}`] };
}

// ---------------------------------------------------------------------------------------------------
// Mutators

/** Values of every msgpack type and shape, many of them wrong for any field. */
function weirdValue(rng: Rng, maxFrame: number): Mp {
  return rng.weighted<() => Mp>([
    [6, () => -1],
    [4, () => -(2 ** 40)],
    [5, () => 1.5],
    [4, () => new Float(1)],
    [4, () => new Float(Number.NaN)],
    [4, () => 2 ** 53],
    [4, () => new Wide(-1, 0xcf)], // uint64 max
    [3, () => new Wide(rng.int(100), 0xcf)], // a small uint in 9 bytes: valid
    [3, () => new Wide(rng.int(100), 0xd3)], // a small int64: valid for uint
    [3, () => new Wide(-5, 0xd0)],
    [6, () => ''],
    [6, () => 'x'],
    [3, () => 'w'.repeat(rng.range(65, 300))],
    [2, () => 'h'.repeat(rng.range(1000, Math.min(rng.chance(0.1) ? 200_000 : 20_000, maxFrame - 64)))],
    [5, () => true],
    [5, () => null],
    [5, () => []],
    [4, () => [1, 'two', [3]]],
    [4, () => new MpMap([['a', 1]])],
    [2, () => new MpMap([['__proto__', new MpMap([['polluted', true]])]])],
    [4, () => rng.bytes(rng.int(20))],
    [3, () => new Ext(rng.int(256) - 128, rng.bytes(rng.int(8)))],
    [2, () => new Raw(Uint8Array.of(0xd6, 0xff, 0, 0, 0, 1))], // timestamp ext → a Date
    [3, () => new Raw(Uint8Array.of(0xa3, 0xed, 0xa0, 0x80))], // a lone surrogate in UTF-8 form
    [3, () => new Raw(Uint8Array.of(0xa2, 0xc3, 0x28))], // invalid UTF-8
    [2, () => new Raw(Uint8Array.of(0xa2, 0xc0, 0x80))], // overlong NUL
    [2, () => new Raw(Uint8Array.of(0xa1, 0xff))],
    [3, () => new Raw(Uint8Array.of(0xc1))], // never-used byte
    [3, () => new Raw(nested(rng, rng.range(10, 1000)))],
    [3, () => new Raw(bigHeader(rng))],
  ])();
}

/** `depth` nested one-element arrays around a nil. */
function nested(rng: Rng, depth: number): Uint8Array {
  const b = new Uint8Array(depth + 1);
  const tag = rng.pick([0x91, 0x81]); // arrays, or maps whose first key opens the next map
  b.fill(tag, 0, depth);
  b[depth] = 0xc0;
  return b;
}

/** A container or string header announcing far more than follows. */
function bigHeader(rng: Rng): Uint8Array {
  return rng.pick([
    Uint8Array.of(0xdd, 0xff, 0xff, 0xff, 0xff),
    Uint8Array.of(0xdd, 0x7f, 0xff, 0xff, 0xff),
    Uint8Array.of(0xdc, 0xff, 0xff),
    Uint8Array.of(0xdd, 0x00, 0x01, 0x86, 0xa0), // 100 000
    Uint8Array.of(0xdf, 0xff, 0xff, 0xff, 0xff),
    Uint8Array.of(0xde, 0xff, 0xff),
    Uint8Array.of(0xdb, 0xff, 0xff, 0xff, 0xff, 0x61),
    Uint8Array.of(0xc6, 0xff, 0xff, 0xff, 0xff, 0x00),
    Uint8Array.of(0xc9, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00),
  ]);
}

/** Array headers of large sizes, each the first element of the previous one: a body of headers only. */
function headerBomb(rng: Rng, maxBytes: number): Uint8Array {
  const unit = rng.pick([
    [0xdc, 0xff, 0xff],
    [0xdc, 0x80, 0x00],
    [0xdd, 0x00, 0x01, 0x00, 0x00],
    [0xdd, 0x00, 0x00, 0xff, 0xff],
    [0xde, 0xff, 0xff],
  ]);
  const count = Math.max(1, Math.floor(rng.range(16, maxBytes) / unit.length));
  const out = new Uint8Array(count * unit.length);
  for (let i = 0; i < count; i++) out.set(unit, i * unit.length);
  return out;
}

/** Body mutations that leave a body the schema still accepts: the request reaches the store. */
const SOFT_BODY: readonly (readonly [number, string])[] = [
  [8, 'extra-fields'],
  [6, 'wide-ints'],
  [6, 'extreme-uints'],
  [6, 'odd-values'],
  [2, 'float-one'],
];
/** Body mutations that mostly break the body (fatal BAD_BODY), or bring a hostile msgpack value. */
const HARD_BODY: readonly (readonly [number, string])[] = [
  [30, 'wrong-type'],
  [8, 'drop-field'],
  [6, 'cut-fields'],
  [5, 'not-array'],
  [3, 'empty-array'],
  [4, 'deep-nesting'],
  [5, 'huge-header'],
  [3, 'header-bomb'],
  [4, 'trailing-bytes'],
  [3, 'huge-string'],
  [4, 'random-body'],
];

/** Strings and numbers of the right type that push a request's limits. */
function oddValue(rng: Rng, v: Mp): Mp {
  if (typeof v === 'string')
    return rng.pick([
      '',
      ' ',
      'z'.repeat(Limits.maxId),
      'z'.repeat(Limits.maxId + 1),
      '🙂'.repeat(32),
      'ж'.repeat(Limits.maxTitle + 1),
      '\u0000',
      '\u202e\u200b',
      `${v}${v}`,
    ]);
  if (typeof v === 'number')
    return rng.pick([0, 1, Number.MAX_SAFE_INTEGER, 2 ** 32 - 1, 2 ** 32, 2 ** 31, rng.u32(), v + 1]);
  if (Array.isArray(v)) return rng.pick<Mp>([[], [...v, ...v], v.slice(1), ['x'.repeat(Limits.maxId)]]);
  return v;
}

/**
 * Mutates a draft's body. Soft mutations keep it acceptable (odd values, wide integer encodings, extra
 * fields); hard ones bring wrong types, missing fields, odd encodings and hostile msgpack.
 */
function mutateBody(rng: Rng, d: Draft, maxFrame: number, soft: boolean): void {
  const fields = d.fields ?? [];
  const at = () => rng.int(Math.max(1, fields.length + 1));
  const kind = rng.weighted<string>(soft ? SOFT_BODY : HARD_BODY);
  d.notes.push(`body:${kind}`);
  switch (kind) {
    case 'wrong-type':
      for (let n = rng.range(1, 2); n > 0; n--) fields[at()] = weirdValue(rng, maxFrame);
      break;
    case 'drop-field':
      if (fields.length > 0) fields[rng.int(fields.length)] = null;
      break;
    case 'cut-fields':
      fields.length = rng.int(fields.length + 1);
      break;
    case 'extra-fields':
      for (let n = rng.range(1, 5); n > 0; n--) fields.push(rng.chance(0.5) ? weirdValue(rng, maxFrame) : rng.int(9));
      break;
    case 'not-array':
      d.body = pack(rng.pick<Mp>([new MpMap([['token', 'x']]), 'str', 42, null, true, Uint8Array.of(1), -1]));
      break;
    case 'empty-array':
      d.body = Uint8Array.of(0x90);
      break;
    case 'deep-nesting': {
      const deep = nested(rng, rng.range(100, Math.min(rng.chance(0.1) ? 200_000 : 10_000, maxFrame - 64)));
      if (rng.chance(0.5)) d.body = deep;
      else fields[at()] = new Raw(deep);
      break;
    }
    case 'huge-header':
      if (rng.chance(0.5)) d.body = concat([bigHeader(rng), pack(fields)]);
      else fields[at()] = new Raw(bigHeader(rng));
      break;
    case 'header-bomb':
      d.body = headerBomb(rng, Math.min(maxFrame - 64, rng.chance(0.3) ? 64 * 1024 : 4096));
      break;
    case 'wide-ints':
      for (let i = 0; i < fields.length; i++) {
        const v = fields[i];
        if (typeof v === 'number' && Number.isInteger(v) && v >= 0)
          fields[i] = new Wide(v, v < 2 ** 31 && rng.chance(0.5) ? 0xd3 : 0xcf);
      }
      break;
    case 'trailing-bytes':
      d.body = concat([pack(fields), rng.chance(0.5) ? Uint8Array.of(0xc0) : rng.bytes(rng.range(1, 8))]);
      break;
    case 'huge-string': {
      const i = at();
      fields[i] = rng
        .pick(['s', '中', '😀'])
        .repeat(rng.range(Limits.maxText - 10, Limits.maxText + 10) * rng.pick([1, 1, 1, 4]));
      break;
    }
    case 'random-body':
      d.body = rng.bytes(rng.range(1, 64));
      break;
    case 'extreme-uints':
      for (let i = 0; i < fields.length; i++)
        if (typeof fields[i] === 'number')
          fields[i] = rng.pick([0, 1, Number.MAX_SAFE_INTEGER, 2 ** 32 - 1, 2 ** 32, 2 ** 31, rng.u32()]);
      break;
    case 'odd-values':
      if (fields.length > 0) {
        const i = rng.int(fields.length);
        fields[i] = oddValue(rng, fields[i] as Mp);
      }
      break;
    case 'float-one': {
      // An integral float: the reference reader takes it as the integer (PROTOCOL.md §4.1, note 1).
      const ints = fields.flatMap((v, i) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? [i] : []));
      if (ints.length > 0) {
        const i = rng.pick(ints);
        fields[i] = new Float(fields[i] as number);
      }
      break;
    }
  }
  d.fields = fields;
}

function encodeDraft(d: Draft): Uint8Array {
  const body = d.body ?? (d.fields && d.fields.length > 0 ? pack(d.fields) : new Uint8Array(0));
  return rawFrame(d.op, d.seq, body);
}

/**
 * Mutates the header of an encoded frame: lengths that lie, bad versions, other ops and seqs. Soft
 * mutations keep the frame readable (a longer header, another seq, another op).
 */
function mutateHeader(rng: Rng, frame: Uint8Array, maxFrame: number, notes: string[], soft: boolean): Uint8Array {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const kind = rng.weighted<string>(
    soft
      ? [
          [10, 'header-extension'],
          [15, 'op'],
          [15, 'seq'],
        ]
      : [
          [25, 'packLen'],
          [15, 'headerLen'],
          [5, 'header-extension'],
          [10, 'ver'],
          [20, 'op'],
          [5, 'seq'],
        ],
  );
  notes.push(`header:${kind}`);
  switch (kind) {
    case 'packLen':
      view.setUint32(
        0,
        rng.pick([
          0,
          rng.int(HEADER_LEN),
          frame.length - 1,
          frame.length + 1,
          frame.length + rng.range(2, 100),
          Math.max(0, frame.length - rng.range(1, 20)),
          maxFrame,
          maxFrame + 1,
          0xffffffff,
          0x80000000,
          rng.u32(),
        ]) >>> 0,
      );
      return frame;
    case 'headerLen':
      view.setUint16(
        4,
        rng.pick([0, 1, HEADER_LEN - 1, HEADER_LEN + 1, frame.length, frame.length + 1, 0xffff, rng.u32() & 0xffff]),
      );
      return frame;
    case 'header-extension': {
      // A longer header is valid: readers skip what they do not know.
      const extra = rng.bytes(rng.range(1, 48));
      const out = concat([frame.subarray(0, HEADER_LEN), extra, frame.subarray(HEADER_LEN)]);
      const v = new DataView(out.buffer);
      v.setUint32(0, out.length);
      v.setUint16(4, HEADER_LEN + extra.length);
      return out;
    }
    case 'ver':
      view.setUint16(6, rng.pick([0, 2, VERSION + 1, 0xffff, rng.u32() & 0xffff]));
      return frame;
    case 'op':
      view.setUint32(8, rng.chance(0.6) ? rng.pick([...Object.values(Op), ...OTHER_OPS]) : rng.u32());
      return frame;
    default:
      view.setUint32(12, rng.pick([0, 0xffffffff, rng.u32()]));
      return frame;
  }
}

const INTERESTING_BYTES = [0x00, 0xff, 0x7f, 0x80, 0x10, 0x0f, 0x05, 0xc0, 0xc1, 0x90, 0xdc, 0xdd, 0xdf, 0xdb];

/** Byte-level damage: bit flips, overwrites, inserts, deletes, truncation, duplication, splices. */
function mutateBytes(rng: Rng, bytes: Uint8Array, donor: () => Uint8Array, notes: string[]): Uint8Array {
  const kind = rng.weighted<string>([
    [25, 'bit-flip'],
    [15, 'set-byte'],
    [12, 'insert'],
    [12, 'delete'],
    [15, 'truncate'],
    [8, 'duplicate'],
    [13, 'splice'],
  ]);
  notes.push(`bytes:${kind}`);
  const n = bytes.length;
  switch (kind) {
    case 'bit-flip': {
      if (n === 0) return bytes;
      const out = bytes.slice();
      for (let k = rng.range(1, 8); k > 0; k--) {
        const i = rng.chance(0.4) ? rng.int(Math.min(n, HEADER_LEN)) : rng.int(n);
        out[i] = (out[i] as number) ^ (1 << rng.int(8));
      }
      return out;
    }
    case 'set-byte': {
      if (n === 0) return bytes;
      const out = bytes.slice();
      for (let k = rng.range(1, 4); k > 0; k--) out[rng.int(n)] = rng.pick(INTERESTING_BYTES);
      return out;
    }
    case 'insert': {
      const i = rng.int(n + 1);
      return concat([bytes.subarray(0, i), rng.bytes(rng.range(1, 16)), bytes.subarray(i)]);
    }
    case 'delete': {
      if (n === 0) return bytes;
      const i = rng.int(n);
      return concat([bytes.subarray(0, i), bytes.subarray(Math.min(n, i + rng.range(1, 16)))]);
    }
    case 'truncate':
      return bytes.slice(0, rng.int(n + 1));
    case 'duplicate': {
      if (n === 0) return bytes;
      const i = rng.int(n);
      const j = Math.min(n, i + rng.range(1, 64));
      return concat([bytes.subarray(0, j), bytes.subarray(i, j), bytes.subarray(j)]);
    }
    default: {
      const other = donor();
      return concat([bytes.subarray(0, rng.int(n + 1)), other.subarray(rng.int(other.length + 1))]);
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Whole messages

/** One fuzz input: the bytes of one WebSocket message or HTTP body, or a text message. */
export interface FuzzInput {
  kind: 'binary' | 'text' | 'bad-utf8-text';
  /** The bytes (for text, its UTF-8). */
  bytes: Uint8Array;
  text?: string;
  /** Frames the input was built from. */
  frames: number;
  /** Frames with a mutation of their header or body (a message damaged byte-wise counts at least one). */
  mutated: number;
  /** {@link frameKey}s of the frames that went in unmutated: any other frame the server reads is mutated. */
  clean: Set<string>;
  /** Offsets at which a long link splits the message into WebSocket fragments (none: one frame). */
  fragments?: number[];
  /** How it was made, for reports. */
  notes: string[];
}

function batch(frames: Uint8Array[], seq = 0): Uint8Array {
  return rawFrame(Op.BATCH, seq, concat(frames));
}

/**
 * Makes one fuzz input for `ctx`: one or more corpus frames, some of them mutated in body or header,
 * maybe batched (sometimes a BATCH in a BATCH), maybe damaged byte by byte as a whole; now and then an
 * empty, text, oversized or giant message.
 */
export function fuzzInput(rng: Rng, ctx: FuzzContext, opts: { seq: () => number; giant: boolean }): FuzzInput {
  const special = rng.weighted<string>([
    [985, 'frames'],
    [4, 'empty'],
    [4, 'text'],
    [2, 'bad-utf8-text'],
    [3, 'oversized'],
    [2, opts.giant ? 'giant' : 'oversized'],
  ]);
  if (special === 'empty')
    return {
      kind: 'binary',
      bytes: new Uint8Array(0),
      frames: 0,
      mutated: 1,
      clean: new Set(),
      notes: ['empty message'],
    };
  if (special === 'text') {
    const t = rng.chance(0.5)
      ? `hello ${rng.u32()}`
      : Buffer.from(encodeDraft(validDraft(rng, ctx, opts.seq()))).toString('latin1');
    return {
      kind: 'text',
      bytes: utf8.encode(t),
      text: t,
      frames: 1,
      mutated: 1,
      clean: new Set(),
      notes: ['text message'],
    };
  }
  if (special === 'bad-utf8-text') {
    return {
      kind: 'bad-utf8-text',
      bytes: Uint8Array.of(0x68, 0x69, 0xff, 0xfe, 0xc3, 0x28),
      frames: 1,
      mutated: 1,
      clean: new Set(),
      notes: ['text message with invalid UTF-8'],
    };
  }
  if (special === 'oversized' || special === 'giant') {
    const size =
      special === 'giant' ? ctx.maxFrame * 4 + rng.range(1, 4096) : ctx.maxFrame + rng.range(1, ctx.maxFrame * 2);
    const frames = rng.chance(0.5)
      ? [rawFrame(Op.SEND, opts.seq(), new Uint8Array(size - HEADER_LEN))]
      : Array.from({ length: Math.ceil(size / 4096) }, () =>
          rawFrame(Op.PING, opts.seq(), new Uint8Array(4096 - HEADER_LEN)),
        );
    return {
      kind: 'binary',
      bytes: concat(frames),
      frames: frames.length,
      mutated: 1,
      clean: new Set(),
      notes: [special],
    };
  }

  const notes: string[] = [];
  const count = rng.weighted<() => number>([
    [50, () => 1],
    [28, () => rng.range(2, 8)],
    [14, () => rng.range(9, 64)],
    [6, () => rng.range(65, 256)],
    [1, () => rng.range(257, 300)], // over maxFrames: BAD_BATCH
  ])();
  if (count > 1) notes.push(`${count} frames`);
  // Most frames get a mutation. Frames before the last get soft ones (mostly), so that the server
  // processes them rather than stopping at the first fatal one; the last may get any.
  const bulk = count > 8;
  const pMutateBody = bulk ? 0.5 : 0.6;
  const pMutateHeader = bulk ? 0.05 : 0.15;
  let frames: Uint8Array[] = [];
  let mutated = 0;
  const clean = new Set<string>();
  for (let i = 0; i < count; i++) {
    const d = validDraft(rng, ctx, opts.seq(), bulk);
    const soft = bulk ? rng.chance(0.99) : i < count - 1 ? rng.chance(0.85) : rng.chance(0.5);
    const body = rng.chance(pMutateBody);
    const header = rng.chance(pMutateHeader);
    if (body) mutateBody(rng, d, ctx.maxFrame, soft);
    let f = encodeDraft(d);
    if (header) f = mutateHeader(rng, f, ctx.maxFrame, d.notes, soft || body);
    if (body || header) mutated++;
    else clean.add(frameKey({ op: d.op, seq: d.seq, body: f.subarray(HEADER_LEN) }));
    if (d.notes.length > 1 && notes.length < 12) notes.push(...d.notes);
    frames.push(f);
  }
  const wrap = rng.weighted<string>([
    [70, 'plain'],
    [20, 'batch'],
    [5, 'mixed'],
    [3, 'batch-in-batch'],
    [2, 'empty-batch'],
  ]);
  if (wrap !== 'plain') notes.push(wrap);
  if (wrap === 'batch') frames = [batch(frames, rng.chance(0.9) ? 0 : rng.u32())];
  else if (wrap === 'mixed' && frames.length > 1) {
    const i = rng.range(1, frames.length - 1);
    frames = [...frames.slice(0, i - 1), batch(frames.slice(i - 1, i + 1)), ...frames.slice(i + 1)];
  } else if (wrap === 'batch-in-batch')
    frames = [batch([batch(frames), ...(rng.chance(0.5) ? [] : frames.slice(0, 1))])];
  else if (wrap === 'empty-batch') frames.splice(rng.int(frames.length + 1), 0, batch([]));
  let bytes = concat(frames);
  if (rng.chance(0.12)) {
    const donor = () => encodeDraft(validDraft(rng, ctx, opts.seq()));
    const n = rng.range(1, 3);
    for (let k = n; k > 0; k--) bytes = mutateBytes(rng, bytes, donor, notes);
    mutated = Math.min(count, mutated + n);
  }
  if (wrap === 'batch-in-batch' || wrap === 'empty-batch') mutated = Math.max(mutated, 1);
  const input: FuzzInput = { kind: 'binary', bytes, frames: count, mutated, clean, notes };
  if (bytes.length > 1 && rng.chance(0.05)) {
    // The same message in WebSocket fragments: framing must not depend on them.
    const cuts = new Set(Array.from({ length: rng.range(1, 3) }, () => rng.range(1, bytes.length - 1)));
    input.fragments = [...cuts].sort((a, b) => a - b);
    notes.push(`${cuts.size + 1} ws fragments`);
  }
  return input;
}

/**
 * Hand-picked hostile inputs every run starts with, on an authenticated long link, a long link before
 * AUTH, and the short link with and without AUTH: the known worst cases for a frame reader and a
 * msgpack decoder.
 */
export function regressionInputs(ctx: FuzzContext, seq: () => number): FuzzInput[] {
  const one = (notes: string, bytes: Uint8Array, frames = 1): FuzzInput => ({
    kind: 'binary',
    bytes,
    frames,
    mutated: 1,
    clean: new Set(),
    notes: [notes],
  });
  const body = (b: Uint8Array, op: number = Op.SYNC) => rawFrame(op, seq(), b);
  const bomb = (unit: number[], bytes: number) => {
    const n = Math.floor(bytes / unit.length);
    const out = new Uint8Array(n * unit.length);
    for (let i = 0; i < n; i++) out.set(unit, i * unit.length);
    return out;
  };
  const room = ctx.maxFrame - 1024; // room for an AUTH in front on the short link
  const ping = () => rawFrame(Op.PING, seq(), new Uint8Array(0));
  return [
    one('nested array16 headers of 65535 (allocation bomb)', body(bomb([0xdc, 0xff, 0xff], room))),
    one('nested array16 headers in AUTH (allocation bomb)', body(bomb([0xdc, 0xff, 0xff], room), Op.AUTH)),
    one('nested array32 headers of 65536', body(bomb([0xdd, 0, 1, 0, 0], room), Op.SEND)),
    one('nested map16 headers of 65535', body(bomb([0xde, 0xff, 0xff], room), Op.HISTORY)),
    one('array32 of 2^32-1', body(Uint8Array.of(0xdd, 0xff, 0xff, 0xff, 0xff))),
    one('map32 of 2^32-1', body(Uint8Array.of(0xdf, 0xff, 0xff, 0xff, 0xff))),
    one('str32 of 4 GiB', body(Uint8Array.of(0xdb, 0xff, 0xff, 0xff, 0xff, 0x61), Op.CONV_CREATE)),
    one('bin32 of 4 GiB', body(Uint8Array.of(0x91, 0xc6, 0xff, 0xff, 0xff, 0xff))),
    one('200k-deep nested arrays', body(nested(new Rng(1), Math.min(200_000, room)))),
    one('packLen 2^32-1', rawFrame(Op.PING, seq(), new Uint8Array(0), { packLen: 0xffffffff })),
    one('packLen 0', rawFrame(Op.PING, seq(), new Uint8Array(0), { packLen: 0 })),
    one('headerLen 0', rawFrame(Op.PING, seq(), new Uint8Array(0), { headerLen: 0 })),
    one('headerLen 65535', rawFrame(Op.PING, seq(), new Uint8Array(0), { headerLen: 0xffff })),
    one('ver 0', rawFrame(Op.PING, seq(), new Uint8Array(0), { ver: 0 })),
    one('BATCH in BATCH', batch([batch([ping()])])),
    one('257 frames', concat(Array.from({ length: 257 }, ping)), 257),
    one('256 frames in a BATCH', batch(Array.from({ length: 256 }, ping)), 256),
    one('15 bytes', ping().subarray(0, 15)),
    one('an empty BATCH only', batch([])),
    one('__proto__ key', body(pack([new MpMap([['__proto__', 1]])]))),
    one(
      'lone surrogate in a cmid',
      body(concat([Uint8Array.of(0x94, 0xa3, 0xed, 0xa0, 0x80, 1, 1, 0xa1, 0x61)]), Op.SEND),
    ),
  ];
}

/**
 * An input for a link before AUTH: an AUTH frame (its token sometimes refused, its body or header
 * sometimes mutated) ahead of some more frames, or — now and then — any input at all.
 */
export function preAuthInput(rng: Rng, ctx: FuzzContext, opts: { seq: () => number; giant: boolean }): FuzzInput {
  if (rng.chance(0.3)) return fuzzInput(rng, ctx, opts);
  const token = rng.weighted<() => string>([
    [70, () => ctx.token],
    [25, () => rng.pick(ctx.badTokens)],
    [5, () => ctx.token.slice(0, rng.int(ctx.token.length))],
  ])();
  const d: Draft = { op: Op.AUTH, seq: opts.seq(), fields: [token, ctx.device], notes: ['AUTH'] };
  if (rng.chance(0.3)) d.fields?.push('synkey-fuzz/1');
  if (token !== ctx.token) d.notes.push('refused token');
  const body = rng.chance(0.35);
  if (body) mutateBody(rng, d, ctx.maxFrame, rng.chance(0.5));
  let auth = encodeDraft(d);
  const header = rng.chance(0.08);
  if (header) auth = mutateHeader(rng, auth, ctx.maxFrame, d.notes, rng.chance(0.5));
  const rest = rng.chance(0.5) ? fuzzInput(rng, ctx, { ...opts, giant: false }) : null;
  const clean = new Set(rest?.clean ?? []);
  if (!body && !header) clean.add(frameKey({ op: Op.AUTH, seq: d.seq, body: auth.subarray(HEADER_LEN) }));
  const bytes = rest?.kind === 'binary' ? concat([auth, rest.bytes]) : auth;
  return {
    kind: 'binary',
    bytes,
    frames: 1 + (rest?.kind === 'binary' ? rest.frames : 0),
    mutated: (body || header || token !== ctx.token ? 1 : 0) + (rest?.kind === 'binary' ? rest.mutated : 0),
    clean,
    notes: [...d.notes, ...(rest?.kind === 'binary' ? ['then', ...rest.notes] : [])],
  };
}

/** A well-formed AUTH frame for `ctx`. */
export function authFrame(ctx: FuzzContext, seq: number): Uint8Array {
  return rawFrame(Op.AUTH, seq, pack([ctx.token, ctx.device]));
}
