import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeBody } from './bodies';
import { ErrorCode, ProtocolError } from './errors';
import { concatFrames, DEFAULT_LIMITS, decodeFrames, encodeBatch, encodeFrame } from './frame';
import { HEADER_LEN, VERSION, writeHeader } from './header';
import { Op } from './ops';
import { receive } from './receive.test-util';

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
/** Any op but BATCH: known ones most of the time, unknown ones too. */
const anyOp = fc.oneof(fc.constantFrom(...Object.values(Op)), u32).filter((op) => op !== Op.BATCH);
const plainFrame = fc.record({ op: anyOp, seq: u32, body: fc.uint8Array({ maxLength: 48 }) });

function throwsCode(fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ProtocolError, `expected a ProtocolError, got ${e}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

/** A frame with a hand-written header. */
function rawFrame(
  h: { packLen?: number; headerLen?: number; ver?: number; op: number; seq?: number },
  body = new Uint8Array(0),
) {
  const headerLen = h.headerLen ?? HEADER_LEN;
  const out = new Uint8Array(Math.max(headerLen, HEADER_LEN) + body.length);
  writeHeader(new DataView(out.buffer), 0, {
    packLen: h.packLen ?? out.length,
    headerLen,
    ver: h.ver ?? VERSION,
    op: h.op,
    seq: h.seq ?? 0,
  });
  out.set(body, Math.max(headerLen, HEADER_LEN));
  return out;
}

function same(decoded: ReturnType<typeof decodeFrames>, frames: { op: number; seq: number; body: Uint8Array }[]) {
  assert.deepEqual(
    decoded.map((f) => ({ op: f.op, seq: f.seq, body: [...f.body] })),
    frames.map((f) => ({ op: f.op, seq: f.seq, body: [...f.body] })),
  );
}

// ---- round trips ----

test('one frame round-trips op, seq and body through encodeFrame/decodeFrames', () => {
  fc.assert(
    fc.property(plainFrame, (f) => {
      same(decodeFrames(encodeFrame(f.op, f.seq, f.body)), [f]);
    }),
    { numRuns: 300 },
  );
});

test('frames concatenated in one buffer decode in order', () => {
  fc.assert(
    fc.property(fc.array(plainFrame, { minLength: 1, maxLength: 8 }), (fs) => {
      same(decodeFrames(concatFrames(fs.map((f) => encodeFrame(f.op, f.seq, f.body)))), fs);
    }),
    { numRuns: 200 },
  );
});

test('a BATCH of several frames decodes to the same frames in order (BATCH itself is flattened away)', () => {
  fc.assert(
    fc.property(fc.array(plainFrame, { minLength: 2, maxLength: 8 }), (fs) => {
      const encoded = fs.map((f) => encodeFrame(f.op, f.seq, f.body));
      const batch = encodeBatch(encoded);
      const view = new DataView(batch.buffer, batch.byteOffset);
      assert.equal(view.getUint32(8), Op.BATCH);
      assert.equal(view.getUint32(12), 0);
      assert.deepEqual([...batch.subarray(HEADER_LEN)], [...concatFrames(encoded)]);
      same(decodeFrames(batch), fs);
    }),
    { numRuns: 200 },
  );
});

test('encodeBatch of a single frame sends that frame as is', () => {
  const f = encodeFrame(Op.PING, 3);
  assert.equal(encodeBatch([f]), f);
});

test('BATCH frames and plain frames mixed in one buffer flatten in order', () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(plainFrame, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 4 }),
      (groups) => {
        const buf = concatFrames(groups.map((g) => encodeBatch(g.map((f) => encodeFrame(f.op, f.seq, f.body)))));
        same(decodeFrames(buf), groups.flat());
      },
    ),
    { numRuns: 150 },
  );
});

test('an empty BATCH carries no frames', () => {
  assert.deepEqual(decodeFrames(encodeFrame(Op.BATCH, 0)), []);
});

test('readers honour a larger headerLen: a hand-made 20-byte header frame decodes, the extra 4 bytes skipped', () => {
  const body = new Uint8Array([0x92, 0x01, 0x02]); // msgpack [1, 2]
  const buf = new Uint8Array(20 + body.length);
  const view = new DataView(buf.buffer);
  view.setUint32(0, buf.length); // packLen 23
  view.setUint16(4, 20); // headerLen 20
  view.setUint16(6, 1); // ver
  view.setUint32(8, Op.NOTIFY); // op 8
  view.setUint32(12, 42); // seq
  buf.set([0xde, 0xad, 0xbe, 0xef], 16); // a future header field this reader does not know
  buf.set(body, 20);
  const frames = decodeFrames(buf);
  assert.equal(frames.length, 1);
  same(frames, [{ op: Op.NOTIFY, seq: 42, body }]);
  assert.deepEqual(decodeBody(Op.NOTIFY, frames[0]!.body), { epoch: 1, seq: 2 });
});

test('readers honour any headerLen ≥ 16, also for frames inside a BATCH', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ extra: fc.uint8Array({ maxLength: 40 }), f: plainFrame }), { minLength: 1, maxLength: 5 }),
      (items) => {
        const encoded = items.map(({ extra, f }) => {
          const out = rawFrame({ headerLen: HEADER_LEN + extra.length, op: f.op, seq: f.seq }, f.body);
          out.set(extra, HEADER_LEN);
          return out;
        });
        const fs = items.map((i) => i.f);
        same(decodeFrames(concatFrames(encoded)), fs);
        same(decodeFrames(encodeFrame(Op.BATCH, 0, concatFrames(encoded))), fs);
      },
    ),
    { numRuns: 150 },
  );
});

test('a frame exactly maxFrame bytes long and exactly maxFrames frames are accepted', () => {
  const limits = { maxFrame: 64, maxFrames: 4 };
  same(decodeFrames(encodeFrame(Op.OK, 1, new Uint8Array(48)), limits), [
    { op: Op.OK, seq: 1, body: new Uint8Array(48) },
  ]);
  const four = Array.from({ length: 4 }, (_, i) => ({ op: Op.PING, seq: i, body: new Uint8Array(0) }));
  // The BATCH wrapping them is a frame too: 16 + 4 × 16 = 80 bytes.
  same(decodeFrames(encodeBatch(four.map((f) => encodeFrame(f.op, f.seq))), { ...limits, maxFrame: 80 }), four);
});

// ---- hostile input: exact codes ----

test('an empty buffer is BAD_FRAME', () => {
  throwsCode(() => decodeFrames(new Uint8Array(0)), ErrorCode.BadFrame);
});

test('a single frame truncated at every length is BAD_FRAME', () => {
  fc.assert(
    fc.property(plainFrame, fc.boolean(), (f, batched) => {
      const one = encodeFrame(f.op, f.seq, f.body);
      const buf = batched ? encodeBatch([one, one]) : one;
      for (let len = 0; len < buf.length; len++)
        throwsCode(() => decodeFrames(buf.subarray(0, len)), ErrorCode.BadFrame);
    }),
    { numRuns: 60 },
  );
});

test('concatenated frames cut at any length decode to the whole frames before the cut, or BAD_FRAME', () => {
  fc.assert(
    fc.property(fc.array(plainFrame, { minLength: 1, maxLength: 5 }), (fs) => {
      const encoded = fs.map((f) => encodeFrame(f.op, f.seq, f.body));
      const buf = concatFrames(encoded);
      const boundaries = new Map<number, number>();
      let at = 0;
      encoded.forEach((e, i) => {
        at += e.length;
        boundaries.set(at, i + 1);
      });
      for (let len = 1; len < buf.length; len++) {
        const whole = boundaries.get(len);
        if (whole === undefined) throwsCode(() => decodeFrames(buf.subarray(0, len)), ErrorCode.BadFrame);
        else same(decodeFrames(buf.subarray(0, len)), fs.slice(0, whole));
      }
    }),
    { numRuns: 40 },
  );
});

test('a packLen larger than the bytes present is BAD_FRAME', () => {
  fc.assert(
    fc.property(plainFrame, fc.integer({ min: 1, max: 1000 }), (f, over) => {
      const buf = rawFrame({ op: f.op, seq: f.seq }, f.body);
      new DataView(buf.buffer).setUint32(0, buf.length + over);
      throwsCode(() => decodeFrames(buf), ErrorCode.BadFrame);
    }),
    { numRuns: 100 },
  );
});

test('a packLen smaller than the header is BAD_FRAME', () => {
  for (let packLen = 0; packLen < HEADER_LEN; packLen++) {
    throwsCode(() => decodeFrames(rawFrame({ packLen, op: Op.PING })), ErrorCode.BadFrame);
  }
  // packLen 16 with headerLen 20: the header claims more than the frame.
  const buf = rawFrame({ headerLen: 20, op: Op.PING });
  new DataView(buf.buffer).setUint32(0, 16);
  throwsCode(() => decodeFrames(buf), ErrorCode.BadFrame);
});

test('a headerLen below 16 is BAD_FRAME', () => {
  for (let headerLen = 0; headerLen < HEADER_LEN; headerLen++) {
    throwsCode(() => decodeFrames(rawFrame({ headerLen, op: Op.PING })), ErrorCode.BadFrame);
  }
});

test('any version but 1 is UNSUPPORTED_VERSION, also inside a BATCH', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 0xffff }).filter((v) => v !== VERSION),
      plainFrame,
      (ver, f) => {
        const bad = rawFrame({ ver, op: f.op, seq: f.seq }, f.body);
        throwsCode(() => decodeFrames(bad), ErrorCode.UnsupportedVersion);
        throwsCode(() => decodeFrames(encodeBatch([encodeFrame(Op.PING, 1), bad])), ErrorCode.UnsupportedVersion);
      },
    ),
    { numRuns: 200 },
  );
});

test('a frame over maxFrame is FRAME_TOO_LARGE, checked before its bytes are awaited', () => {
  const limits = { maxFrame: 64, maxFrames: 256 };
  throwsCode(() => decodeFrames(encodeFrame(Op.SEND, 1, new Uint8Array(49)), limits), ErrorCode.FrameTooLarge);
  // A header claiming 4 GiB on a 16-byte buffer is refused for its size, not read further.
  throwsCode(() => decodeFrames(rawFrame({ packLen: 0xffff_ffff, op: Op.SEND })), ErrorCode.FrameTooLarge);
  // A BATCH is a frame too.
  const inner = Array.from({ length: 4 }, () => encodeFrame(Op.PING, 1));
  throwsCode(() => decodeFrames(encodeBatch(inner), limits), ErrorCode.FrameTooLarge);
  fc.assert(
    fc.property(fc.integer({ min: 16, max: 200 }), fc.integer({ min: 1, max: 100 }), (maxFrame, over) => {
      const f = encodeFrame(Op.OK, 0, new Uint8Array(maxFrame - HEADER_LEN + over));
      throwsCode(() => decodeFrames(f, { maxFrame, maxFrames: 256 }), ErrorCode.FrameTooLarge);
    }),
    { numRuns: 100 },
  );
});

test('more than maxFrames frames in one buffer is BAD_BATCH, counted across BATCH and plain frames', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 20 }),
      fc.integer({ min: 1, max: 5 }),
      fc.boolean(),
      (maxFrames, over, batched) => {
        const frames = Array.from({ length: maxFrames + over }, (_, i) => encodeFrame(Op.PING, i));
        const buf = batched ? encodeBatch(frames) : concatFrames(frames);
        throwsCode(() => decodeFrames(buf, { maxFrame: DEFAULT_LIMITS.maxFrame, maxFrames }), ErrorCode.BadBatch);
      },
    ),
    { numRuns: 100 },
  );
  const limits = { maxFrame: 1 << 20, maxFrames: 3 };
  const two = encodeBatch([encodeFrame(Op.PING, 1), encodeFrame(Op.PING, 2)]);
  throwsCode(() => decodeFrames(concatFrames([two, two]), limits), ErrorCode.BadBatch);
});

test('a BATCH inside a BATCH is BAD_BATCH', () => {
  const inner = encodeBatch([encodeFrame(Op.PING, 1), encodeFrame(Op.PING, 2)]);
  throwsCode(() => decodeFrames(encodeFrame(Op.BATCH, 0, inner)), ErrorCode.BadBatch);
  throwsCode(() => decodeFrames(encodeBatch([encodeFrame(Op.PING, 1), encodeFrame(Op.BATCH, 0)])), ErrorCode.BadBatch);
});

// ---- fuzz: whatever the bytes, only ProtocolError, and always terminating ----

test('random bytes end in frames or a ProtocolError, never another exception or a hang', { timeout: 10_000 }, () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 256 }), (buf) => receive(buf)),
    { numRuns: 1000 },
  );
});

test('random bodies behind a valid header (known ops) end in a body or a ProtocolError', { timeout: 10_000 }, () => {
  fc.assert(
    fc.property(anyOp, u32, fc.uint8Array({ maxLength: 128 }), (op, seq, body) => receive(encodeFrame(op, seq, body))),
    { numRuns: 1000 },
  );
});

test('random header fields with small limits end in frames or a ProtocolError', { timeout: 10_000 }, () => {
  const header = fc.record({
    packLen: fc.oneof(fc.integer({ min: 0, max: 80 }), u32),
    headerLen: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 0xffff })),
    ver: fc.oneof(fc.constant(VERSION), fc.integer({ min: 0, max: 0xffff })),
    op: fc.oneof(fc.constantFrom(...Object.values(Op)), u32),
    seq: u32,
  });
  fc.assert(
    fc.property(
      fc.array(fc.record({ h: header, body: fc.uint8Array({ maxLength: 48 }) }), { minLength: 1, maxLength: 6 }),
      (parts) => {
        const buf = concatFrames(
          parts.map(({ h, body }) => {
            const out = new Uint8Array(HEADER_LEN + body.length);
            writeHeader(new DataView(out.buffer), 0, h);
            out.set(body, HEADER_LEN);
            return out;
          }),
        );
        receive(buf, { maxFrame: 64, maxFrames: 4 });
      },
    ),
    { numRuns: 1000 },
  );
});

test('bit-flipped valid frames and batches end in frames or a ProtocolError', { timeout: 10_000 }, () => {
  fc.assert(
    fc.property(
      fc.array(plainFrame, { minLength: 1, maxLength: 4 }),
      fc.boolean(),
      fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
      (fs, batched, flips) => {
        const encoded = fs.map((f) => encodeFrame(f.op, f.seq, f.body));
        const buf = (batched ? encodeBatch(encoded) : concatFrames(encoded)).slice();
        for (const bit of flips) {
          const i = bit % (buf.length * 8);
          buf[i >> 3]! ^= 1 << (i & 7);
        }
        receive(buf);
      },
    ),
    { numRuns: 1000 },
  );
});

test('encodeFrame refuses an op or seq outside u32 instead of wrapping it', () => {
  for (const [op, seq] of [
    [2 ** 32, 1],
    [1, -1],
    [1.5, 1],
  ] as const) {
    assert.throws(
      () => encodeFrame(op, seq),
      (e) => e instanceof ProtocolError && e.code === ErrorCode.BadFrame,
    );
  }
});
