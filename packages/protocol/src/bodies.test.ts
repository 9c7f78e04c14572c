import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decode, encode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { type BodyOp, decodeBody, encodeBody, frame, schemas } from './bodies';
import { ErrorCode, ProtocolError } from './errors';
import { concatFrames, decodeFrames, encodeBatch, encodeFrame } from './frame';
import { Op, opName } from './ops';
import { receive } from './receive.test-util';
import { decodeShape, type Field, type FieldType, type Shape } from './schema';

// ---- a generator that walks a Shape, so every op in `schemas` (and every new one) is covered ----

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
/** Values at every msgpack integer width boundary, plus anything up to 2^53-1. */
const uintArb = fc.oneof(
  fc.constantFrom(0, 1, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, MAX_SAFE),
  fc.nat(300),
  fc.maxSafeNat(),
);
const intArb = fc.oneof(
  fc.constantFrom(-1, -32, -33, -128, -129, -(2 ** 31), -(2 ** 31) - 1, -MAX_SAFE),
  fc.maxSafeInteger(),
);
/** Any Unicode scalar value (every code point but the surrogates), biased to ASCII, 2-, 3- and 4-byte UTF-8. */
const scalar = fc
  .oneof(
    fc.integer({ min: 0x00, max: 0x7f }),
    fc.integer({ min: 0x80, max: 0x7ff }),
    fc.integer({ min: 0x800, max: 0xd7ff }),
    fc.integer({ min: 0xe000, max: 0xffff }),
    fc.integer({ min: 0x1_0000, max: 0x10_ffff }),
  )
  .map((cp) => String.fromCodePoint(cp));
/** Well-formed strings, short (JS UTF-8 path) and long (TextEncoder/TextDecoder path). */
const strArb = fc.oneof(
  fc.string({ unit: scalar, maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
  fc.string({ unit: scalar, minLength: 40, maxLength: 120 }),
);

function arbType(t: FieldType): fc.Arbitrary<unknown> {
  switch (t) {
    case 'uint':
      return uintArb;
    case 'int':
      return intArb;
    case 'str':
      return strArb;
    case 'bool':
      return fc.boolean();
    case 'bytes':
      return fc.uint8Array({ maxLength: 40 });
  }
  if ('list' in t) return fc.array(arbType(t.list), { maxLength: 3 });
  return arbShape(t.obj);
}

/** Valid bodies of `shape`: required fields always present, optional ones sometimes absent (no key at all). */
function arbShape(shape: Shape): fc.Arbitrary<Record<string, unknown>> {
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  const requiredKeys: string[] = [];
  for (const [name, [, type, opt]] of fields(shape)) {
    model[name] = arbType(type);
    if (opt !== 'opt') requiredKeys.push(name);
  }
  return fc.record(model, { requiredKeys, noNullPrototype: true });
}

function fields(shape: Shape): [string, Field][] {
  return Object.entries(shape);
}

function maxField(shape: Shape): number {
  return Math.max(0, ...fields(shape).map(([, f]) => f[0]));
}

const allOps = Object.keys(schemas).map(Number) as BodyOp[];
const shapeOf = (op: BodyOp): Shape => schemas[op];
const opsWithFields = allOps.filter((op) => fields(shapeOf(op)).length > 0);
const opsWithRequired = allOps.filter((op) => fields(shapeOf(op)).some(([, f]) => f[2] !== 'opt'));
/** An op with a valid body for it. */
const anyBody = fc.constantFrom(...allOps).chain((op) => arbShape(shapeOf(op)).map((body) => ({ op, body })));

function throwsCode(fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ProtocolError, `expected a ProtocolError, got ${e}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

/** The msgpack field array of an encoded body ([] for an empty body). */
function wire(op: BodyOp, body: unknown): unknown[] {
  const bytes = encodeBody(op, body as never);
  return bytes.length === 0 ? [] : (decode(bytes) as unknown[]);
}

function padTo(arr: unknown[], n: number): unknown[] {
  const out = [...arr];
  while (out.length < n) out.push(null);
  return out;
}

/** Appends `extra` after the last known field of every field array in `raw`, nested ones included. */
function widenShape(shape: Shape, raw: unknown[], extra: unknown[]): unknown[] {
  const byNumber = new Map(fields(shape).map(([, f]) => [f[0], f[1]] as const));
  const out = raw.map((v, i) => {
    const t = byNumber.get(i + 1);
    return t === undefined || v === null ? v : widenValue(t, v, extra);
  });
  return [...padTo(out, maxField(shape)), ...extra];
}

function widenValue(t: FieldType, v: unknown, extra: unknown[]): unknown {
  if (typeof t === 'string') return v;
  if ('list' in t) return (v as unknown[]).map((item) => widenValue(t.list, item, extra));
  return widenShape(t.obj, v as unknown[], extra);
}

/** Any msgpack value a future writer might append. */
const msgpackValue = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 8 }),
  fc.uint8Array({ maxLength: 8 }),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.stringMatching(/^[a-z]{1,6}$/), fc.integer(), { maxKeys: 3 }),
);

// ---- round trips ----

for (const op of allOps) {
  test(`${opName(op)} (op ${op}): every valid body round-trips through encodeBody/decodeBody and a frame`, () => {
    fc.assert(
      fc.property(arbShape(shapeOf(op)), fc.integer({ min: 0, max: 0xffff_ffff }), (body, seq) => {
        assert.deepStrictEqual(decodeBody(op, encodeBody(op, body as never)), body);
        const frames = decodeFrames(frame(op, seq, body as never));
        assert.equal(frames.length, 1);
        assert.equal(frames[0]!.op, op);
        assert.equal(frames[0]!.seq, seq);
        assert.deepStrictEqual(decodeBody(op, frames[0]!.body), body);
      }),
      { numRuns: 60 },
    );
  });
}

test('a BATCH of several frames with real bodies round-trips every op, seq and body in order', () => {
  fc.assert(
    fc.property(fc.array(anyBody, { minLength: 2, maxLength: 6 }), (items) => {
      const frames = decodeFrames(encodeBatch(items.map(({ op, body }, i) => frame(op, i + 1, body as never))));
      assert.deepStrictEqual(
        frames.map((f) => ({ op: f.op, seq: f.seq, body: decodeBody(f.op as BodyOp, f.body) })),
        items.map(({ op, body }, i) => ({ op, seq: i + 1, body })),
      );
    }),
    { numRuns: 100 },
  );
});

test('bodies are msgpack arrays: field N at index N-1, nil for an absent optional field, trailing nils dropped', () => {
  fc.assert(
    fc.property(anyBody, ({ op, body }) => {
      const raw = wire(op, body);
      assert.ok(Array.isArray(raw));
      let highest = 0;
      for (const [name, [n, type]] of fields(shapeOf(op))) {
        if (name in body) {
          highest = Math.max(highest, n);
          assert.notEqual(raw[n - 1], null, `${name} at index ${n - 1}`);
          if (typeof type === 'string' && type !== 'bytes') assert.equal(raw[n - 1], body[name], name);
        } else {
          assert.ok(raw[n - 1] === null || raw[n - 1] === undefined, `absent ${name} is nil`);
        }
      }
      assert.equal(raw.length, highest, 'no trailing nils');
    }),
    { numRuns: 300 },
  );
});

test('ops without fields (PONG, OK, CONV_LIST) and a PING without its optional fields have a zero-byte body', () => {
  for (const op of [...allOps.filter((o) => fields(shapeOf(o)).length === 0), Op.PING]) {
    assert.equal(encodeBody(op, {} as never).length, 0, opName(op));
    assert.deepStrictEqual(decodeBody(op, new Uint8Array(0)), {});
  }
});

test("a server PING carries the user's SynKey as [epoch, seq]; a reader that knows no PING fields skips it", () => {
  const body = { epoch: 3_000_000_000, seq: 42 };
  assert.deepStrictEqual(wire(Op.PING, body), [3_000_000_000, 42]);
  assert.deepStrictEqual(decodeBody(Op.PING, encodeBody(Op.PING, body)), body);
  assert.deepStrictEqual(decodeShape({}, encodeBody(Op.PING, body)), {}, 'an old reader of the empty PING');
  assert.equal(frame(Op.PING, 5, body).length, 16 + 7);
});

test('optional fields that are absent decode as absent (no key), not as undefined or null', () => {
  fc.assert(
    fc.property(anyBody, ({ op, body }) => {
      const back = decodeBody(op, encodeBody(op, body as never)) as Record<string, unknown>;
      for (const [name] of fields(shapeOf(op))) assert.equal(name in back, name in body, name);
    }),
    { numRuns: 300 },
  );
  assert.deepStrictEqual(decodeBody(Op.SEND, encodeBody(Op.SEND, { cmid: 'c', conv: 1, kind: 1 })), {
    cmid: 'c',
    conv: 1,
    kind: 1,
  });
  // An explicit nil in an optional slot is absent too.
  assert.deepStrictEqual(decodeBody(Op.HISTORY, encode([5, null, 10])), { conv: 5, limit: 10 });
});

test('unknown trailing fields (any msgpack values, at every nesting level) are skipped by readers', () => {
  fc.assert(
    fc.property(anyBody, fc.array(msgpackValue, { minLength: 1, maxLength: 3 }), ({ op, body }, extra) => {
      const widened = encode(widenShape(shapeOf(op), wire(op, body), extra));
      assert.deepStrictEqual(decodeBody(op, widened), body);
    }),
    { numRuns: 300 },
  );
});

test('a nested Message with an unknown field 10 inside SYNC_REPLY still decodes', () => {
  const msg = [7, 3, 'alice', null, 12, 1_700_000_000_000, 1, 'hi', null, { future: true }];
  const bytes = encode([1, 0, 1, false, null, [[msg]]]);
  assert.deepStrictEqual(decodeBody(Op.SYNC_REPLY, bytes), {
    epoch: 1,
    from: 0,
    seq: 1,
    more: false,
    events: [{ msg: { id: 7, conv: 3, sender: 'alice', convSeq: 12, ts: 1_700_000_000_000, kind: 1, text: 'hi' } }],
  });
});

// ---- hostile bodies ----

/**
 * A value that is not of type `t` (and not nil, which would mean "absent"). On the wire any map is
 * wrong for an object; for the encoder a JS object *is* an object (of which all fields may be optional).
 */
function wrongValue(t: FieldType, side: 'wire' | 'encoder'): fc.Arbitrary<unknown> {
  const notNumber = fc.oneof(
    fc.string({ maxLength: 4 }),
    fc.boolean(),
    fc.constant([]),
    fc.uint8Array({ maxLength: 3 }),
  );
  switch (t) {
    case 'uint':
      return fc.oneof(
        notNumber,
        fc.integer({ min: -(2 ** 31), max: -1 }),
        fc.constantFrom(-MAX_SAFE, 0.5, 1.5, -0.5, 2 ** 53, 2 ** 64, Number.NaN, Number.POSITIVE_INFINITY),
      );
    case 'int':
      return fc.oneof(notNumber, fc.constantFrom(0.5, -1.5, 2 ** 53, -(2 ** 53), Number.NaN, Number.NEGATIVE_INFINITY));
    case 'str':
      return fc.oneof(
        fc.integer(),
        fc.boolean(),
        fc.constant([]),
        fc.uint8Array({ maxLength: 3 }),
        fc.constant({ a: 1 }),
      );
    case 'bool':
      return fc.oneof(fc.constantFrom(0, 1, 'true', ''), fc.constant([]));
    case 'bytes':
      return fc.oneof(fc.string({ maxLength: 4 }), fc.integer(), fc.constant([]));
  }
  if ('list' in t) {
    return fc.oneof(
      fc.string({ maxLength: 4 }),
      fc.integer(),
      fc.constant({ a: 1 }),
      wrongValue(t.list, side).map((v) => [v]),
    );
  }
  const notObject = fc.oneof(fc.string({ maxLength: 4 }), fc.integer(), fc.boolean());
  return side === 'wire' ? fc.oneof(notObject, fc.constant({ a: 1 })) : notObject;
}

test('a field of the wrong type (incl. negative, fractional, NaN and unsafe integers) is BAD_BODY', () => {
  const arb = fc.constantFrom(...opsWithFields).chain((op) =>
    fc.constantFrom(...fields(shapeOf(op))).chain(([name, [n, type]]) =>
      fc.record({
        op: fc.constant(op),
        name: fc.constant(name),
        n: fc.constant(n),
        body: arbShape(shapeOf(op)),
        bad: wrongValue(type, 'wire'),
      }),
    ),
  );
  fc.assert(
    fc.property(arb, ({ op, n, body, bad }) => {
      const raw = padTo(wire(op, body), n);
      raw[n - 1] = bad;
      throwsCode(() => decodeBody(op, encode(raw)), ErrorCode.BadBody);
    }),
    { numRuns: 400 },
  );
});

test('the encoder refuses the same wrong values with BAD_BODY instead of writing them', () => {
  const arb = fc.constantFrom(...opsWithFields).chain((op) =>
    fc.constantFrom(...fields(shapeOf(op))).chain(([name, [, type]]) =>
      fc.record({
        op: fc.constant(op),
        name: fc.constant(name),
        body: arbShape(shapeOf(op)),
        bad: wrongValue(type, 'encoder'),
      }),
    ),
  );
  fc.assert(
    fc.property(arb, ({ op, name, body, bad }) => {
      throwsCode(() => encodeBody(op, { ...body, [name]: bad } as never), ErrorCode.BadBody);
    }),
    { numRuns: 300 },
  );
});

test('a missing required field (nil in its slot or array too short) is BAD_BODY', () => {
  const arb = fc
    .constantFrom(...opsWithRequired)
    .chain((op) =>
      fc
        .constantFrom(...fields(shapeOf(op)).filter(([, f]) => f[2] !== 'opt'))
        .chain(([name, [n]]) =>
          fc.record({ op: fc.constant(op), name: fc.constant(name), n: fc.constant(n), body: arbShape(shapeOf(op)) }),
        ),
    );
  fc.assert(
    fc.property(arb, ({ op, name, n, body }) => {
      const raw = padTo(wire(op, body), n);
      raw[n - 1] = null;
      throwsCode(() => decodeBody(op, encode(raw)), ErrorCode.BadBody);
      throwsCode(() => decodeBody(op, encode(raw.slice(0, n - 1))), ErrorCode.BadBody);
      const { [name]: _, ...without } = body;
      throwsCode(() => encodeBody(op, without as never), ErrorCode.BadBody);
    }),
    { numRuns: 300 },
  );
  for (const op of opsWithRequired) throwsCode(() => decodeBody(op, new Uint8Array(0)), ErrorCode.BadBody);
});

test('a body that is not a msgpack array (map, string, number, nil, bool, bin) is BAD_BODY for every op', () => {
  const notArray = fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double(),
    fc.string({ maxLength: 8 }),
    fc.uint8Array({ maxLength: 8 }),
    fc.dictionary(fc.stringMatching(/^[a-z]{1,4}$/), fc.integer(), { maxKeys: 3 }),
  );
  fc.assert(
    fc.property(fc.constantFrom(...allOps), notArray, (op, v) => {
      throwsCode(() => decodeBody(op, encode(v)), ErrorCode.BadBody);
    }),
    { numRuns: 300 },
  );
  // A keyed map with the right names is still not a field array.
  throwsCode(() => decodeBody(Op.NOTIFY, encode({ epoch: 1, seq: 2 })), ErrorCode.BadBody);
});

test('invalid msgpack is BAD_BODY: reserved byte 0xc1, every truncation of a body, trailing garbage', () => {
  throwsCode(() => decodeBody(Op.NOTIFY, new Uint8Array([0xc1])), ErrorCode.BadBody);
  throwsCode(() => decodeBody(Op.NOTIFY, new Uint8Array([0x92, 0x01, 0xc1])), ErrorCode.BadBody);
  // An array header claiming 2^32-1 elements on 5 bytes.
  throwsCode(() => decodeBody(Op.NOTIFY, new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff])), ErrorCode.BadBody);
  fc.assert(
    fc.property(anyBody, fc.uint8Array({ minLength: 1, maxLength: 4 }), ({ op, body }, garbage) => {
      const bytes = encodeBody(op, body as never);
      for (let len = 1; len < bytes.length; len++)
        throwsCode(() => decodeBody(op, bytes.subarray(0, len)), ErrorCode.BadBody);
      const extra = Uint8Array.from([...(bytes.length > 0 ? bytes : encode([])), ...garbage]);
      throwsCode(() => decodeBody(op, extra), ErrorCode.BadBody);
    }),
    { numRuns: 60 },
  );
});

test('integers that are not safe uints are BAD_BODY even when msgpack-encoded by hand', () => {
  const notify = (n: number[]) => new Uint8Array([0x92, 0x01, ...n]); // [1, <n>]
  const cases: [string, number[]][] = [
    ['uint64 2^64-1', [0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]],
    ['uint64 2^53', [0xcf, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]],
    ['int64 -2^63', [0xd3, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]],
    ['negative fixint -1', [0xff]],
    ['int8 -128', [0xd0, 0x80]],
    ['float32 1.5', [0xca, 0x3f, 0xc0, 0x00, 0x00]],
    ['float64 0.1', [0xcb, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a]],
    ['float64 NaN', [0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0]],
  ];
  for (const [what, bytes] of cases) {
    assert.throws(
      () => decodeBody(Op.NOTIFY, notify(bytes)),
      (e: unknown) => e instanceof ProtocolError && e.code === ErrorCode.BadBody,
      what,
    );
  }
  // The largest safe integer is fine in a uint64.
  assert.deepStrictEqual(decodeBody(Op.NOTIFY, notify([0xcf, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])), {
    epoch: 1,
    seq: MAX_SAFE,
  });
});

test('strings with a lone surrogate are refused (they have no UTF-8 form), writing and reading', () => {
  fc.assert(
    fc.property(
      fc.string({ maxLength: 60 }), // ASCII: nothing here can pair with the surrogate
      fc.integer({ min: 0xd800, max: 0xdfff }),
      fc.string({ maxLength: 60 }),
      (a, unit, b) => {
        const text = a + String.fromCharCode(unit) + b;
        throwsCode(() => encodeBody(Op.SEND, { cmid: 'c', conv: 1, kind: 1, text }), ErrorCode.BadBody);
      },
    ),
    { numRuns: 200 },
  );
  // "a\uD83D" as WTF-8 (ED A0 BD) is not UTF-8; a reader must not accept it.
  const wtf8 = new Uint8Array([0x94, 0xa1, 0x63, 0x01, 0x01, 0xa4, 0x61, 0xed, 0xa0, 0xbd]);
  throwsCode(() => decodeBody(Op.SEND, wtf8), ErrorCode.BadBody);
  // Surrogate pairs (emoji) are of course fine.
  assert.equal(
    decodeBody(Op.SEND, encodeBody(Op.SEND, { cmid: 'c', conv: 1, kind: 1, text: '😀👍🏽' })).text,
    '😀👍🏽',
  );
});

test('decodeBody and encodeBody with an op that has no schema (incl. BATCH) are UNKNOWN_OP', () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.constant(Op.BATCH), fc.integer({ min: 0, max: 0xffff_ffff })).filter((op) => !(op in schemas)),
      fc.uint8Array({ maxLength: 16 }),
      (op, bytes) => {
        throwsCode(() => decodeBody(op as BodyOp, bytes), ErrorCode.UnknownOp);
        throwsCode(() => encodeBody(op as BodyOp, {} as never), ErrorCode.UnknownOp);
      },
    ),
    { numRuns: 200 },
  );
});

// ---- fuzz over the whole receive path: decodeFrames, then decodeBody on every frame ----

const validBuffer = fc
  .tuple(fc.array(anyBody, { minLength: 1, maxLength: 4 }), fc.boolean())
  .map(([items, batched]) => {
    const fs = items.map(({ op, body }, i) => frame(op, i, body as never));
    return batched ? encodeBatch(fs) : concatFrames(fs);
  });

test('valid frames with real bodies, bit-flipped, end in results or a ProtocolError', { timeout: 10_000 }, () => {
  fc.assert(
    fc.property(validBuffer, fc.array(fc.nat(), { minLength: 1, maxLength: 6 }), (buf, flips) => {
      const bad = buf.slice();
      for (const bit of flips) {
        const i = bit % (bad.length * 8);
        bad[i >> 3]! ^= 1 << (i & 7);
      }
      receive(bad);
    }),
    { numRuns: 600 },
  );
});

test('body bytes flipped or overwritten behind an intact header end in a body or a ProtocolError', {
  timeout: 10_000,
}, () => {
  fc.assert(
    fc.property(
      anyBody,
      fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }),
      ({ op, body }, edits) => {
        const buf = frame(op, 1, body as never).slice();
        if (buf.length === 16) return;
        for (const [at, byte] of edits) buf[16 + (at % (buf.length - 16))] = byte;
        receive(buf);
      },
    ),
    { numRuns: 600 },
  );
});

test('valid frames with real bodies cut at every length end in results or a ProtocolError', { timeout: 10_000 }, () => {
  fc.assert(
    fc.property(validBuffer, (buf) => {
      for (let len = 0; len < buf.length; len++) receive(buf.subarray(0, len));
    }),
    { numRuns: 25 },
  );
});

test('arbitrary msgpack values as the body of any op end in a body or a ProtocolError', () => {
  const value = fc.letrec((tie) => ({
    v: fc.oneof(
      { depthSize: 'small' },
      msgpackValue,
      fc.array(tie('v'), { maxLength: 8 }),
      fc.dictionary(fc.stringMatching(/^[a-z]{1,6}$/), tie('v'), { maxKeys: 3 }),
    ),
  })).v;
  fc.assert(
    fc.property(fc.oneof(fc.constantFrom(...allOps), fc.nat(40)), value, (op, v) => {
      receive(encodeFrame(op, 0, encode(v)));
    }),
    { numRuns: 600 },
  );
});

test('a body of array headers announcing far more elements than it holds is BAD_BODY without allocating them', () => {
  const bomb = new Uint8Array(15_000);
  for (let i = 0; i + 2 < bomb.length; i += 3) bomb.set([0xdc, 0xff, 0xff], i);
  const before = process.memoryUsage().heapUsed;
  assert.throws(
    () => decodeBody(Op.SEND, bomb),
    (e) => e instanceof ProtocolError && e.code === ErrorCode.BadBody,
  );
  assert.ok(process.memoryUsage().heapUsed - before < 64 * 1024 * 1024, 'no gigabyte preallocation');
});
