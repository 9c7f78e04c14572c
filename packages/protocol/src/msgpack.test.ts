import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as reference from '@msgpack/msgpack';
import fc from 'fast-check';
import { decode, encode, MAX_DEPTH, type Packable } from './msgpack';
import { msgpackFits } from './msgpack-guard';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** Safe integers, with every boundary between two msgpack integer widths. */
const intArb = fc.oneof(
  fc.constantFrom(
    ...[0, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x1_0000, 2 ** 32 - 1, 2 ** 32, MAX_SAFE].flatMap((n) =>
      n === 0 ? [0] : [n, -n],
    ),
    -0x20,
    -0x21,
    -0x80,
    -0x81,
    -0x8000,
    -0x8001,
    -(2 ** 31),
    -(2 ** 31) - 1,
  ),
  fc.integer(),
  fc.maxSafeInteger(),
);
/** Any Unicode scalar value (no lone surrogates), biased to each UTF-8 length. */
const scalar = fc
  .oneof(
    fc.integer({ min: 0, max: 0x7f }),
    fc.integer({ min: 0x80, max: 0x7ff }),
    fc.integer({ min: 0x800, max: 0xd7ff }),
    fc.integer({ min: 0xe000, max: 0xffff }),
    fc.integer({ min: 0x1_0000, max: 0x10_ffff }),
  )
  .map((cp) => String.fromCodePoint(cp));
const strArb = fc.oneof(
  fc.string({ unit: scalar, maxLength: 40 }),
  fc.string({ unit: scalar, minLength: 60, maxLength: 300 }),
  fc.constantFrom('\ufeff', '\ufeffBOM', 'a'.repeat(255), 'a'.repeat(256), 'é'.repeat(32_768), 'x'.repeat(70_000)),
);
const binArb = fc.oneof(
  fc.uint8Array({ maxLength: 40 }),
  fc.constantFrom(255, 256, 65_535, 65_536).map((n) => new Uint8Array(n).fill(7)),
);
/** Every value the encoder writes, nested. */
const packable: fc.Arbitrary<Packable> = fc.letrec<{ v: Packable }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    intArb,
    strArb,
    binArb,
    fc.array(tie('v'), { maxLength: 20 }),
    fc.constantFrom(15, 16, 65_535, 65_536).map((n) => new Array<Packable>(n).fill(null)),
  ),
})).v;

/** The reference decoder's maps are objects; ours are Maps. */
function mapsToObjects(v: unknown): unknown {
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [k, mapsToObjects(x)]));
  if (Array.isArray(v)) return v.map(mapsToObjects);
  return v;
}

function rejects(bytes: number[] | Uint8Array, why: RegExp): void {
  assert.throws(() => decode(Uint8Array.from(bytes)), why);
}

test('encode writes the very bytes @msgpack/msgpack writes, for every value a body holds', () => {
  fc.assert(
    fc.property(packable, (v) => {
      assert.deepEqual(encode(v), reference.encode(v));
    }),
    { numRuns: 500 },
  );
});

test('decode reads back every encoded value', () => {
  fc.assert(
    fc.property(packable, (v) => {
      assert.deepStrictEqual(decode(encode(v)), v);
    }),
    { numRuns: 500 },
  );
});

test('decode reads what @msgpack/msgpack writes: floats, maps and all the rest, as it reads them', () => {
  const any = fc.letrec<{ v: unknown }>((tie) => ({
    v: fc.oneof(
      { depthSize: 'small' },
      fc.constant(null),
      fc.boolean(),
      fc.maxSafeInteger(),
      fc.double(),
      fc.string({ unit: scalar, maxLength: 50 }),
      fc.uint8Array({ maxLength: 10 }),
      fc.array(tie('v'), { maxLength: 5 }),
      fc.dictionary(fc.string({ maxLength: 5 }), tie('v'), { maxKeys: 4, noNullPrototype: true }),
    ),
  })).v;
  fc.assert(
    fc.property(any, (v) => {
      const bytes = reference.encode(v);
      assert.deepStrictEqual(mapsToObjects(decode(bytes)), reference.decode(bytes));
    }),
    { numRuns: 500 },
  );
  assert.equal(decode(Uint8Array.of(0xca, 0x3f, 0xc0, 0, 0)), 1.5);
  assert.deepEqual(decode(Uint8Array.of(0x81, 0x01, 0xc0)), new Map([[1, null]]));
});

test('a leading U+FEFF in a string is kept, not taken for a byte order mark', () => {
  for (const s of ['\ufeff', '\ufeffa', `\ufeff${'é'.repeat(40)}`]) assert.equal(decode(encode(s)), s);
});

test('bin decodes to a copy, not a view of the frame', () => {
  const bytes = encode(Uint8Array.of(1, 2, 3));
  const bin = decode(bytes) as Uint8Array;
  bytes.fill(0);
  assert.deepEqual(bin, Uint8Array.of(1, 2, 3));
  assert.equal(bin.buffer.byteLength, 3);
});

test('invalid UTF-8 is refused in short and long strings: stray continuation, overlong, surrogate, cut sequence', () => {
  const bad = [[0x80], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80], [0xff]];
  for (const seq of bad) {
    rejects([0xa0 | (seq.length + 1), 0x61, ...seq], /encoded data was not valid/i);
    const long = [...new Array(40).fill(0x61), ...seq];
    rejects([0xd9, long.length, ...long], /encoded data was not valid/i);
  }
});

test('extension types are refused, every size of them (and the timestamp extension)', () => {
  for (const b of [0xd4, 0xd5, 0xd6, 0xd7, 0xd8]) rejects([b, 0x01, ...new Array(16).fill(0)], /extension/);
  for (const ext of [
    [0xc7, 0x01, 0x05, 0x00],
    [0xc8, 0x00, 0x01, 0x05, 0x00],
    [0xc9, 0x00, 0x00, 0x00, 0x01, 0x05, 0x00],
  ])
    rejects(ext, /extension/);
  rejects(reference.encode(new Date(0)), /extension/);
});

test('integers beyond 2^53-1 are refused; the largest safe ones are read', () => {
  rejects([0xcf, 0x00, 0x20, 0, 0, 0, 0, 0, 0], /2\^53/);
  rejects([0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], /2\^53/);
  rejects([0xd3, 0xff, 0xe0, 0, 0, 0, 0, 0, 0], /2\^53/);
  rejects([0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0], /2\^53/);
  assert.equal(decode(Uint8Array.of(0xcf, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)), MAX_SAFE);
  assert.equal(decode(Uint8Array.of(0xd3, 0xff, 0xe0, 0, 0, 0, 0, 0, 1)), -MAX_SAFE);
});

test('the reserved byte 0xc1, trailing bytes and every truncation are refused', () => {
  rejects([0xc1], /0xc1/);
  rejects([0x92, 0x01, 0xc1], /0xc1/);
  fc.assert(
    fc.property(packable, fc.uint8Array({ minLength: 1, maxLength: 4 }), (v, tail) => {
      const bytes = encode(v);
      for (let len = 0; len < Math.min(bytes.length, 64); len++) rejects(bytes.subarray(0, len), /truncated/);
      rejects(Uint8Array.from([...bytes, ...tail]), /after the value/);
    }),
    { numRuns: 200 },
  );
});

test(`nesting is read down to ${MAX_DEPTH} levels and refused below`, () => {
  const nested = (depth: number) => Uint8Array.from([...new Array(depth).fill(0x91), 0xc0]);
  assert.doesNotThrow(() => decode(nested(MAX_DEPTH)));
  rejects(nested(MAX_DEPTH + 1), /nested too deeply/);
  rejects(nested(300_000), /nested too deeply/);
});

test('headers announcing more elements or bytes than are left are refused at the header, without allocating', () => {
  const bomb = new Uint8Array(3 * 80_000);
  for (let i = 0; i < bomb.length; i += 3) bomb.set([0xdc, 0xff, 0xff], i);
  const before = process.memoryUsage().heapUsed;
  rejects(bomb, /truncated/);
  rejects([0xdd, 0xff, 0xff, 0xff, 0xff], /truncated/);
  rejects([0xdf, 0xff, 0xff, 0xff, 0xff], /truncated/);
  rejects([0xdb, 0xff, 0xff, 0xff, 0xff], /truncated/);
  rejects([0xc6, 0xff, 0xff, 0xff, 0xff], /truncated/);
  assert.ok(process.memoryUsage().heapUsed - before < 64 * 1024 * 1024);
});

test('every body the allocation guard (msgpackFits) refuses, decode refuses too', () => {
  const headers = fc.constantFrom(0xdc, 0xdd, 0xde, 0xdf, 0xd9, 0xda, 0xdb, 0xc4, 0xc5, 0xc6, 0x91, 0x9f, 0x81);
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 48 }),
    fc.array(fc.oneof(headers, fc.integer({ min: 0, max: 255 })), { maxLength: 48 }).map((a) => Uint8Array.from(a)),
  );
  fc.assert(
    fc.property(bytes, (b) => {
      if (!msgpackFits(b)) assert.throws(() => decode(b));
    }),
    { numRuns: 3000 },
  );
});

test('encode refuses what no body holds: fractions, unsafe integers, objects', () => {
  for (const v of [1.5, Number.NaN, 2 ** 53, -(2 ** 53), {}, undefined])
    assert.throws(() => encode(v as Packable), TypeError);
});
