// The media fuzz oracle's pure rules, checked on hand-picked cases: if these were wrong, the fuzzer
// would pass a wrong server or fail a right one.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, Limits } from '@synkey/protocol';
import { checkCreate, expectServe, judgeReply, routeOf } from './fuzz-media-oracle';

const sha = 'ab'.repeat(32);
const body = (s: string) => Buffer.from(s);

describe('POST /media/uploads bodies', () => {
  test('a valid body is accepted with the default chunk size and its chunk count', () => {
    assert.deepEqual(checkCreate(body(`{"size":1048577,"sha256":"${sha.toUpperCase()}"}`)), {
      codes: [],
      valid: { size: 1_048_577, sha256: sha, chunkSize: Limits.imageChunk, chunks: 3 },
    });
  });

  test('wrong types, negative, float and unsafe sizes, bad digests and chunk sizes are INVALID; over the limit 413; not image/* 415', () => {
    const codes = (s: string) => checkCreate(body(s)).codes.sort();
    assert.deepEqual(codes(`{"size":-1,"sha256":"${sha}"}`), [ErrorCode.Invalid]);
    assert.deepEqual(codes(`{"size":1.5,"sha256":"${sha}"}`), [ErrorCode.Invalid]);
    assert.deepEqual(codes(`{"size":"10","sha256":"${sha}"}`), [ErrorCode.Invalid]);
    assert.deepEqual(codes(`{"size":10,"sha256":"${sha}x"}`), [ErrorCode.Invalid]);
    assert.deepEqual(codes(`{"size":10,"sha256":"${sha}","chunkSize":65535}`), [ErrorCode.Invalid]);
    assert.deepEqual(codes(`{"size":${Limits.maxImageBytes + 1},"sha256":"${sha}"}`), [ErrorCode.MediaTooLarge]);
    assert.deepEqual(codes(`{"size":1e400,"sha256":"${sha}"}`), [ErrorCode.Invalid, ErrorCode.MediaTooLarge].sort());
    assert.deepEqual(codes(`{"size":10,"sha256":"${sha}","mime":"text/html"}`), [ErrorCode.UnsupportedMedia]);
    assert.deepEqual(codes(`{"size":10,"sha256":"${sha}","name":"a\\u0000b"}`), [ErrorCode.Invalid]);
    assert.deepEqual(codes(`{"size":10,"sha256":"${sha}","name":"\\ud800"}`), [ErrorCode.Invalid]);
  });

  test('prototype keys are plain data, and JSON that is not an object is INVALID', () => {
    assert.deepEqual(checkCreate(body(`{"__proto__":{"size":1},"sha256":"${sha}"}`)).codes, [ErrorCode.Invalid]);
    assert.equal(checkCreate(body(`{"size":1,"sha256":"${sha}","__proto__":{"x":1}}`)).valid?.size, 1);
    for (const s of ['', 'null', '[]', '[[[]]]', '{', `{"size":1,"sha256":"${sha}"}x`])
      assert.deepEqual(checkCreate(body(s)).codes, [ErrorCode.Invalid], s);
  });
});

describe('routes', () => {
  test('the table of §13.1, methods it does not take, and paths it does not have', () => {
    assert.deepEqual(routeOf('POST', '/media/uploads'), { r: 'create' });
    assert.deepEqual(routeOf('PUT', '/media/uploads/abc/01'), { r: 'upload', id: 'abc', action: 'put', index: '01' });
    assert.deepEqual(routeOf('GET', '/media/uploads/abc/complete'), { r: 'method', id: 'abc', upload: true });
    assert.deepEqual(routeOf('GET', '/media/abc/thumb'), { r: 'file', id: 'abc', variant: 'thumb' });
    assert.deepEqual(routeOf('GET', '/media/abc/full'), { r: 'none' });
    assert.deepEqual(routeOf('GET', '/media/uploads/abc/0/x'), { r: 'none' });
    assert.deepEqual(routeOf('GET', '/media/x/../uploads/abc'), { r: 'upload', id: 'abc', action: 'status' });
    assert.deepEqual(routeOf('GET', '/media/%2e%2e/healthz'), { r: 'outside', path: '/healthz' });
    assert.deepEqual(routeOf('GET', '/media/..%2f..%2fetc'), { r: 'file', id: '..%2f..%2fetc', variant: 'full' });
  });
});

describe('serving a file of 100 bytes', () => {
  const serve = (range?: string, extra: { ifRange?: string; ifNoneMatch?: string } = {}) =>
    expectServe({ ...(range === undefined ? {} : { range }), ...extra }, 100, '"e"');
  test('one range is 206 with exactly it, clamped; past the end or a zero suffix is 416', () => {
    assert.deepEqual(serve('bytes=0-0'), [{ status: 206, start: 0, end: 0 }]);
    assert.deepEqual(serve('bytes=90-200'), [{ status: 206, start: 90, end: 99 }]);
    assert.deepEqual(serve('bytes=-10'), [{ status: 206, start: 90, end: 99 }]);
    assert.deepEqual(serve('bytes=-1000'), [{ status: 206, start: 0, end: 99 }]);
    assert.deepEqual(serve('bytes=100-'), [{ status: 416 }]);
    assert.deepEqual(serve('bytes=-0'), [{ status: 416 }]);
  });
  test('lists, malformed ranges and a stale If-Range get the whole file; a matching If-None-Match 304', () => {
    for (const r of ['bytes=0-1,3-4', 'bytes=5-3', 'bytes=-', 'items=0-1', 'bytes=0x1-2'])
      assert.deepEqual(serve(r), [{ status: 200 }], r);
    assert.deepEqual(serve('bytes=0-1', { ifRange: '"old"' }), [{ status: 200 }]);
    assert.deepEqual(serve('bytes=0-1', { ifNoneMatch: 'W/"e"' }), [{ status: 304 }]);
    assert.deepEqual(serve('Bytes=0-1'), [{ status: 200 }, { status: 206, start: 0, end: 1 }]);
  });
});

describe('judging a response', () => {
  const reply = (status: number, json?: unknown, headers: Record<string, string> = {}) => ({
    status,
    headers: json === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: Buffer.from(json === undefined ? '' : JSON.stringify(json)),
  });
  test('a 500, an error without {code, message}, or a code on the wrong status is a problem', () => {
    assert.ok(judgeReply(reply(500, { code: 'INTERNAL', message: 'x' }), [200]).problem);
    assert.ok(judgeReply(reply(400, { error: 'INVALID', message: 'x' }), [ErrorCode.Invalid]).problem);
    assert.ok(judgeReply(reply(404, { code: 'INVALID', message: 'x' }), [ErrorCode.Invalid]).problem);
    assert.ok(
      judgeReply(reply(409, { code: 'UPLOAD_INCOMPLETE', message: 'x', have: [2, 1] }), [ErrorCode.UploadIncomplete])
        .problem,
    );
  });
  test('the expected refusal passes; another one does not', () => {
    assert.equal(judgeReply(reply(404, { code: 'NOT_FOUND', message: 'no' }), [ErrorCode.NotFound]).problem, undefined);
    assert.ok(judgeReply(reply(404, { code: 'NOT_FOUND', message: 'no' }), [ErrorCode.Invalid]).problem);
  });
});
