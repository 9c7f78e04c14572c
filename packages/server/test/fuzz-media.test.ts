// The media fuzzer's short run (the long one is `npm run fuzz:media`): a real server in a child process,
// random and mutated upload-API requests and VOICE_PART/SEND frames over real loopback sockets, two SDK
// engines sending images and voice notes throughout. FUZZ_SEED=N repeats a run; the report is printed
// either way.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { ErrorCode } from '@synkey/protocol';
import { formatMediaReport, type MediaFuzzReport, runMediaFuzz } from './fuzz-media-run';

const seed = Number(process.env.FUZZ_SEED ?? 20_251_201);
let report: MediaFuzzReport;

/** The violations whose text matches `re`. */
const found = (re: RegExp) => report.violations.filter((v) => re.test(v));

describe(`media fuzzing over real sockets (seed ${seed})`, () => {
  before(async () => {
    report = await runMediaFuzz({
      seed,
      mutated: 2500,
      workers: 4,
      heapBound: 32 * 2 ** 20,
      wellBehavedDeadlineMs: 30_000,
    });
    console.log(formatMediaReport(report));
  });

  test('the server neither crashes nor hangs: every request is answered within its deadline', () => {
    assert.deepEqual(
      found(
        /server exited|no response within|no reply within|no answer within|connection reset|cannot open|run aborted/,
      ),
      [],
    );
  });

  test('never a 500: every refusal is the status of §13.1 with a typed JSON {code, message}', () => {
    assert.deepEqual(found(/HTTP 5\d\d|without a JSON|not \{code, message\}|answered with HTTP/), []);
    for (const status of Object.keys(report.stats.statuses)
      .filter((k) => /^\d+$/.test(k))
      .map(Number))
      assert.ok(status < 500, `status ${status}`);
  });

  test('every request gets what the model of the server’s state says: uploads, chunks, completes, status, cancel, Range', () => {
    assert.deepEqual(found(/expected|racing|raced/), []);
  });

  test('the run reached every refusal of the upload API and of voice parts', () => {
    for (const code of [
      ErrorCode.Invalid,
      ErrorCode.Unauthenticated,
      ErrorCode.TokenExpired,
      ErrorCode.NotFound,
      ErrorCode.UploadIncomplete,
      ErrorCode.MediaTooLarge,
      ErrorCode.UnsupportedMedia,
    ])
      assert.ok(report.stats.codes[code], `HTTP ${code}`);
    for (const status of [200, 201, 204, 206, 416]) assert.ok(report.stats.statuses[status], `HTTP ${status}`);
    assert.ok(report.stats.voice.refusals[ErrorCode.Invalid], 'VOICE_PART INVALID');
    assert.ok(report.stats.stored.images > 0 && report.stats.stored.voice > 0);
    assert.ok(report.stats.completes['bomb → MEDIA_TOO_LARGE'], 'a bomb refused by its header');
    assert.ok(report.stats.mutated >= 2500);
  });

  test('two SDK engines keep sending images, voice notes and text the whole time: all acked, received and fetched', () => {
    assert.deepEqual(found(/^well-behaved/), []);
    const wb = report.wellBehaved;
    assert.ok(wb.images > 0 && wb.voice > 0);
    const sent = wb.images + wb.voice + wb.texts;
    assert.equal(wb.acked, sent);
    assert.equal(wb.received, sent);
    assert.equal(wb.fetched, wb.images + wb.voice);
    assert.equal(wb.linkDrops, 0);
  });

  test('the server heap does not grow and no link leaks', () => {
    assert.deepEqual(found(/heap|links leak/), []);
    assert.deepEqual(report.connectionsAtEnd, { authenticated: 2, all: 2 });
  });

  test('no temp file, half-written chunk or unknown file is left; a restart finds nothing to clean and serves the files', () => {
    assert.deepEqual(found(/media directory|restart|database/), []);
    assert.equal(report.disk?.tmp, 0);
    assert.equal(report.restart?.identical, true);
    assert.equal(report.restart?.served, report.restart?.checked);
    assert.ok((report.restart?.checked ?? 0) > 0);
  });

  test('the server logged no internal error, and nothing else went wrong', () => {
    assert.deepEqual(report.violations, []);
  });
});
