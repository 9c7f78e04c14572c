import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ErrorCode, ProtocolError } from './errors';
import { encodeFrame } from './frame';
import { HEADER_LEN, type Header, readHeader, VERSION, writeHeader } from './header';
import { Op } from './ops';

const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });

/** A self-consistent header: headerLen ≥ 16, packLen ≥ headerLen. */
const validHeader: fc.Arbitrary<Header> = fc
  .record({ headerLen: fc.integer({ min: HEADER_LEN, max: 0xffff }), ver: u16, op: u32, seq: u32 })
  .chain((h) =>
    fc.record({ packLen: fc.integer({ min: h.headerLen, max: 0xffff_ffff }) }).map((p) => ({ ...h, ...p })),
  );

function be(n: number, bytes: number): number[] {
  const out: number[] = [];
  for (let i = bytes - 1; i >= 0; i--) out.push(Math.floor(n / 2 ** (8 * i)) % 256);
  return out;
}

function throwsCode(fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (e: unknown) => e instanceof ProtocolError && e.code === code);
}

test('HEADER_LEN is 16 and VERSION is 1', () => {
  assert.equal(HEADER_LEN, 16);
  assert.equal(VERSION, 1);
});

test('encodeFrame writes the documented big-endian bytes for a known frame', () => {
  const f = encodeFrame(0x0102_0304, 0x0a0b_0c0d, new Uint8Array([0xaa, 0xbb]));
  assert.deepEqual(
    [...f],
    [
      ...[0x00, 0x00, 0x00, 0x12], // packLen 18
      ...[0x00, 0x10], // headerLen 16
      ...[0x00, 0x01], // ver 1
      ...[0x01, 0x02, 0x03, 0x04], // op
      ...[0x0a, 0x0b, 0x0c, 0x0d], // seq
      ...[0xaa, 0xbb], // body
    ],
  );
});

test('a frame header is exactly 16 big-endian bytes: packLen u32, headerLen u16, ver u16, op u32, seq u32', () => {
  fc.assert(
    fc.property(u32, u32, fc.uint8Array({ maxLength: 64 }), (op, seq, body) => {
      const f = encodeFrame(op, seq, body);
      assert.equal(f.length, HEADER_LEN + body.length);
      assert.deepEqual([...f.subarray(0, 4)], be(f.length, 4));
      assert.deepEqual([...f.subarray(4, 6)], [0x00, 0x10]);
      assert.deepEqual([...f.subarray(6, 8)], be(VERSION, 2));
      assert.deepEqual([...f.subarray(8, 12)], be(op, 4));
      assert.deepEqual([...f.subarray(12, 16)], be(seq, 4));
      assert.deepEqual([...f.subarray(16)], [...body]);
    }),
    { numRuns: 200 },
  );
});

test('an empty-bodied frame (e.g. PING) is the 16-byte header alone', () => {
  const f = encodeFrame(Op.PING, 1);
  assert.equal(f.length, 16);
  assert.deepEqual([...f.subarray(0, 4)], [0, 0, 0, 16]);
});

test('readHeader returns exactly what writeHeader wrote, at any offset', () => {
  fc.assert(
    fc.property(validHeader, fc.nat(32), (h, offset) => {
      const buf = new Uint8Array(offset + HEADER_LEN + 4).fill(0xee);
      const view = new DataView(buf.buffer);
      writeHeader(view, offset, h);
      assert.deepEqual(readHeader(view, offset, HEADER_LEN), h);
      // writeHeader touches exactly 16 bytes.
      assert.ok(buf.subarray(0, offset).every((b) => b === 0xee));
      assert.ok(buf.subarray(offset + HEADER_LEN).every((b) => b === 0xee));
    }),
    { numRuns: 300 },
  );
});

test('readHeader accepts a headerLen above 16 and reports it (readers skip the extra bytes)', () => {
  const buf = new Uint8Array(20);
  const view = new DataView(buf.buffer);
  view.setUint32(0, 20);
  view.setUint16(4, 20);
  view.setUint16(6, 1);
  view.setUint32(8, Op.PING);
  view.setUint32(12, 9);
  assert.deepEqual(readHeader(view, 0, 20), { packLen: 20, headerLen: 20, ver: 1, op: Op.PING, seq: 9 });
});

test('readHeader rejects fewer than 16 available bytes with BAD_FRAME', () => {
  const view = new DataView(encodeFrame(Op.PING, 1).buffer);
  for (let available = 0; available < HEADER_LEN; available++) {
    throwsCode(() => readHeader(view, 0, available), ErrorCode.BadFrame);
  }
});

test('readHeader rejects every headerLen below 16 with BAD_FRAME', () => {
  for (let headerLen = 0; headerLen < HEADER_LEN; headerLen++) {
    const view = new DataView(new ArrayBuffer(HEADER_LEN));
    writeHeader(view, 0, { packLen: HEADER_LEN, headerLen, ver: VERSION, op: Op.PING, seq: 0 });
    throwsCode(() => readHeader(view, 0, HEADER_LEN), ErrorCode.BadFrame);
  }
});

test('readHeader rejects a packLen smaller than headerLen with BAD_FRAME', () => {
  fc.assert(
    fc.property(fc.integer({ min: HEADER_LEN, max: 0xffff }), u32, (headerLen, packLenSeed) => {
      const packLen = packLenSeed % headerLen;
      const view = new DataView(new ArrayBuffer(HEADER_LEN));
      writeHeader(view, 0, { packLen, headerLen, ver: VERSION, op: Op.SEND, seq: 1 });
      throwsCode(() => readHeader(view, 0, HEADER_LEN), ErrorCode.BadFrame);
    }),
    { numRuns: 200 },
  );
});

test('readHeader on any 16 bytes either returns a self-consistent header or throws BAD_FRAME', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
      const view = new DataView(bytes.buffer);
      try {
        const h = readHeader(view, 0, HEADER_LEN);
        assert.ok(h.headerLen >= HEADER_LEN && h.packLen >= h.headerLen);
      } catch (e) {
        assert.ok(e instanceof ProtocolError, `threw ${e}`);
        assert.equal(e.code, ErrorCode.BadFrame);
      }
    }),
    { numRuns: 500 },
  );
});
