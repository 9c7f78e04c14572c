// The frame fuzzer's short run (the long one is `npm run fuzz`): a real server in a child process,
// mutated frames over real loopback sockets, two SDK engines chatting throughout. FUZZ_SEED=N repeats a
// run; the report is printed either way.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { decodeBody, ErrorCode, msgpackFits, Op } from '@synkey/protocol';
import fc from 'fast-check';
import { concat, type Mp, pack, Raw, Wide } from './fuzz-corpus';
import { type FuzzReport, formatReport, runFuzz } from './fuzz-run';

const seed = Number(process.env.FUZZ_SEED ?? 20_251_125);
let report: FuzzReport;

/** The violations whose text matches `re`. */
const found = (re: RegExp) => report.violations.filter((v) => re.test(v));

describe(`frame fuzzing over real sockets (seed ${seed})`, () => {
  before(async () => {
    report = await runFuzz({
      seed,
      long: 4000,
      short: 1200,
      lanes: 4,
      httpWorkers: 4,
      preAuthShare: 0.05,
      heapBound: 32 * 2 ** 20,
    });
    console.log(formatReport(report));
  });

  test('the server neither crashes nor hangs: every input is answered or closed within 10 s', () => {
    assert.deepEqual(
      found(/server exited|no answer|no close within|no response within|cannot connect|did not report|aborted/),
      [],
    );
  });

  test('long link: every input gets the replies PROTOCOL.md prescribes, in order; a fatal one gets its ERROR, then the close code of that error (4000–4999, or 1009 past ws maxPayload)', () => {
    assert.deepEqual(found(/^long link/), []);
    for (const code of Object.keys(report.long.closeCodes).map(Number)) {
      const known = (code >= 4000 && code <= 4999) || code === 1009 || code === 1007;
      assert.ok(known, `close code ${code}`);
    }
    assert.ok(report.long.nonFatal > 0, 'some inputs were answered without closing the link');
  });

  test('short link: every response is 200, 400, 401, 413 or 429 holding the replies in order or one fatal ERROR — never 500', () => {
    assert.deepEqual(found(/^short link/), []);
    for (const status of Object.keys(report.short.statuses).map(Number))
      assert.ok([200, 400, 401, 413, 429].includes(status), `status ${status}`);
  });

  test('hostile msgpack headers (nested arrays of 65535, 4 GiB strings) are refused with BAD_BODY on both links, before and after AUTH', () => {
    const bombs = report.regressions.filter((r) => r.input.includes('allocation bomb'));
    assert.ok(bombs.length >= 6, `${bombs.length} bomb outcomes`);
    for (const r of report.regressions)
      assert.ok(!r.outcome.startsWith('PROBLEM'), `${r.input} on ${r.link}: ${r.outcome}`);
    const outcome = (input: string, link: string) =>
      report.regressions.find((r) => r.input.startsWith(input) && r.link === link)?.outcome;
    assert.equal(outcome('nested array16 headers of 65535', 'long'), 'BAD_BODY, close 4002');
    assert.equal(outcome('nested array16 headers in AUTH', 'long, before AUTH'), 'BAD_BODY, close 4002');
    assert.equal(outcome('nested array16 headers of 65535', 'short, after AUTH'), 'HTTP 400 BAD_BODY');
    assert.equal(outcome('nested array16 headers in AUTH', 'short'), 'HTTP 400 BAD_BODY');
  });

  test('the run reached every refusal and every fatal error a client can cause', () => {
    for (const code of [
      ErrorCode.BadFrame,
      ErrorCode.BadBody,
      ErrorCode.BadBatch,
      ErrorCode.FrameTooLarge,
      ErrorCode.UnsupportedVersion,
      ErrorCode.Unauthenticated,
    ]) {
      assert.ok(report.long.fatal[code], `long link: ${code}`);
      assert.ok(report.short.fatal[code], `short link: ${code}`);
    }
    for (const code of [
      ErrorCode.Invalid,
      ErrorCode.UnknownOp,
      ErrorCode.Forbidden,
      ErrorCode.NotFound,
      ErrorCode.OutOfOrder,
    ])
      assert.ok(report.long.refusals[code], `long link refusal ${code}`);
    assert.ok(report.long.mutated >= 4000 && report.short.mutated >= 1200);
  });

  test('two SDK engines keep sending and receiving the whole time: every message acked and delivered, no link dropped', () => {
    assert.deepEqual(found(/^well-behaved/), []);
    const wb = report.wellBehaved;
    assert.ok(wb.sent > 0);
    assert.equal(wb.acked, wb.sent);
    assert.equal(wb.received, wb.expected);
    assert.equal(wb.linkDrops, 0);
  });

  test('the server heap does not grow and no link leaks: only the engines’ links remain', () => {
    assert.deepEqual(found(/heap|links leak/), []);
    assert.deepEqual(report.connectionsAtEnd, { authenticated: 2, all: 2, expected: 2 });
  });

  test('the stored timeline stays gapless and holds exactly what the engines sent, also after a restart', () => {
    assert.deepEqual(found(/timeline|database|restart/), []);
    assert.equal(report.timeline?.restartIdentical, true);
    assert.ok((report.timeline?.messages ?? 0) >= report.wellBehaved.sent);
  });

  test('the server logged no internal error, and nothing else went wrong', () => {
    assert.deepEqual(report.violations, []);
  });
});

const value: fc.Arbitrary<Mp> = fc.letrec<{ v: Mp }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.maxSafeNat(),
    fc.string(),
    fc.uint8Array({ maxLength: 40 }),
    fc.maxSafeNat().map((n) => new Wide(n, 0xcf) as Mp),
    fc.array(tie('v'), { maxLength: 20 }),
  ),
})).v;

describe('msgpack guard', () => {
  test('passes every complete msgpack value, with or without bytes after it', () => {
    fc.assert(
      fc.property(value, fc.uint8Array({ maxLength: 8 }), (v, tail) => {
        assert.equal(msgpackFits(pack(v)), true);
        assert.equal(msgpackFits(concat([pack(v), tail])), true);
      }),
    );
  });

  test('refuses every value cut short', () => {
    fc.assert(
      fc.property(value, fc.nat(), (v, cut) => {
        const bytes = pack(v);
        assert.equal(msgpackFits(bytes.subarray(0, cut % bytes.length)), false);
      }),
    );
  });

  test('refuses only what the decoder refuses too', () => {
    const headers = fc.constantFrom(
      0xdc,
      0xdd,
      0xde,
      0xdf,
      0xd9,
      0xda,
      0xdb,
      0xc4,
      0xc5,
      0xc6,
      0xc7,
      0xc8,
      0xc9,
      0x91,
      0x9f,
      0x81,
    );
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 48 }),
      fc.array(fc.oneof(headers, fc.integer({ min: 0, max: 255 })), { maxLength: 48 }).map((a) => Uint8Array.from(a)),
    );
    fc.assert(
      fc.property(bytes, (b) => {
        if (!msgpackFits(b)) assert.throws(() => decodeBody(Op.SYNC, b));
      }),
      { numRuns: 2000 },
    );
  });

  test('refuses a body of nested array headers that would make the decoder allocate gigabytes', () => {
    const bomb = new Uint8Array(3 * 80_000);
    for (let i = 0; i < bomb.length; i += 3) bomb.set([0xdc, 0xff, 0xff], i);
    assert.equal(msgpackFits(bomb), false);
    assert.equal(msgpackFits(pack([new Raw(Uint8Array.of(0xdd, 0xff, 0xff, 0xff, 0xff))])), false);
  });
});
