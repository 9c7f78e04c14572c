import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { ErrorCode, Limits, type Media } from '@synkey/protocol';
import sharp from 'sharp';
import { mintToken, type RunningServer, startServer } from '../src/index';
import {
  animatedGif,
  GPS_MARKER,
  gifWithMetadata,
  jpegWithGps,
  MediaApi,
  noisePng,
  pngBomb,
  sha256,
  solid,
} from './media-client';

let server: RunningServer;
let alice: MediaApi;
let bob: MediaApi;
const CHUNK = 64 * 1024;

before(async () => {
  server = await startServer({ port: 0, secret: 'media-images-secret', log: () => {} });
  alice = new MediaApi(server.url, await mintToken(server.secret, 'alice'));
  bob = new MediaApi(server.url, await mintToken(server.secret, 'bob'));
});
after(() => server.close());

/** Opens an upload of `file` in 64 KiB chunks and returns its id and chunk count. */
async function open(api: MediaApi, file: Buffer, extra: Record<string, unknown> = {}) {
  const r = await api.open(file, { chunkSize: CHUNK, ...extra });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  return r.json as { upload: string; chunkSize: number; chunks: number; have: number[] };
}

describe('chunked image upload', () => {
  test('chunks sent out of order and twice are assembled in index order into the image', async () => {
    const png = await noisePng(300, 200);
    const { upload, chunks, have } = await open(alice, png, { name: 'photos/holiday.png' });
    assert.ok(chunks >= 3, `${chunks} chunks`);
    assert.deepEqual(have, []);
    const order = [...Array.from({ length: chunks }, (_, i) => chunks - 1 - i), 1, 0];
    for (const i of order) assert.equal((await alice.put(upload, png, CHUNK, i)).status, 204, `chunk ${i}`);
    const status = await alice.req('GET', `/media/uploads/${upload}`);
    assert.deepEqual(
      status.json.have,
      Array.from({ length: chunks }, (_, i) => i),
    );

    const done = await alice.complete(upload);
    assert.equal(done.status, 200, JSON.stringify(done.json));
    const media = done.json.media as Media;
    assert.deepEqual(
      { ...media, id: 'x', size: 0 },
      {
        id: 'x',
        mime: 'image/png',
        size: 0,
        width: 300,
        height: 200,
        name: 'holiday.png',
      },
    );
    const file = await alice.req('GET', `/media/${media.id}`);
    assert.equal(file.status, 200);
    assert.equal(file.headers.get('content-type'), 'image/png');
    assert.equal(file.bytes.length, media.size);
    const { data } = await sharp(file.bytes).raw().toBuffer({ resolveWithObject: true });
    const original = await sharp(png).raw().toBuffer();
    assert.ok(data.equals(original), 'the stored PNG has the uploaded pixels');
    assert.deepEqual((await alice.complete(upload)).json, done.json, 'completing again returns the same media');
  });

  test('a missing chunk makes complete 409 UPLOAD_INCOMPLETE with the chunks held; resent, it completes', async () => {
    const png = await noisePng(200, 200);
    const { upload, chunks } = await open(alice, png);
    for (let i = 0; i < chunks; i++) if (i !== 1) await alice.put(upload, png, CHUNK, i);
    const early = await alice.complete(upload);
    assert.equal(early.status, 409);
    assert.equal(early.json.code, ErrorCode.UploadIncomplete);
    assert.deepEqual(
      early.json.have,
      Array.from({ length: chunks }, (_, i) => i).filter((i) => i !== 1),
    );
    assert.deepEqual((await alice.req('GET', `/media/uploads/${upload}`)).json.have, early.json.have, 'resumable');
    assert.equal((await alice.put(upload, png, CHUNK, 1)).status, 204);
    const done = await alice.complete(upload);
    assert.equal(done.status, 200, JSON.stringify(done.json));
    assert.equal((done.json.media as Media).width, 200);
  });

  test('a chunk of the wrong length or index is 400 INVALID and not held', async () => {
    const png = await noisePng(200, 200);
    const { upload, chunks } = await open(alice, png);
    const short = await alice.req('PUT', `/media/uploads/${upload}/0`, png.subarray(0, CHUNK - 1));
    assert.equal(short.status, 400);
    assert.equal(short.json.code, ErrorCode.Invalid);
    const long = await alice.req('PUT', `/media/uploads/${upload}/${chunks - 1}`, png.subarray(0, CHUNK));
    assert.equal(long.status, 400);
    for (const index of [String(chunks), '-1', '01', 'x']) {
      const r = await alice.req('PUT', `/media/uploads/${upload}/${index}`, png.subarray(0, CHUNK));
      assert.equal(r.status, 400, index);
    }
    assert.deepEqual((await alice.req('GET', `/media/uploads/${upload}`)).json.have, []);
  });

  test("another user's upload is 404 to every request, and DELETE cancels an upload", async () => {
    const png = await noisePng(100, 100);
    const { upload } = await open(alice, png);
    assert.equal((await bob.req('GET', `/media/uploads/${upload}`)).status, 404);
    assert.equal((await bob.put(upload, png, CHUNK, 0)).status, 404);
    assert.equal((await bob.complete(upload)).status, 404);
    assert.equal((await bob.req('DELETE', `/media/uploads/${upload}`)).status, 404);
    assert.equal((await alice.req('DELETE', `/media/uploads/${upload}`)).status, 204);
    const gone = await alice.req('GET', `/media/uploads/${upload}`);
    assert.equal(gone.status, 404);
    assert.equal(gone.json.code, ErrorCode.NotFound);
  });

  test('a file the same user already stored is answered at once with a new media record of the same file', async () => {
    const png = await noisePng(120, 80);
    const first = await alice.uploadMedia(png);
    const again = await alice.open(png, { name: 'copy.png' });
    assert.equal(again.status, 200);
    const media = again.json.media as Media;
    assert.notEqual(media.id, first.id);
    assert.deepEqual({ ...media, id: first.id, name: undefined }, { ...first, name: undefined });
    assert.equal(media.name, 'copy.png');
    const a = await alice.req('GET', `/media/${first.id}`);
    const b = await alice.req('GET', `/media/${media.id}`);
    assert.ok(a.bytes.equals(b.bytes));
    const bobs = await bob.open(png);
    assert.equal(bobs.status, 201, 'another user must upload the bytes (media-housekeeping-dedupe.test.ts)');
    await bob.req('DELETE', `/media/uploads/${bobs.json.upload}`);
  });
});

describe('image checks', () => {
  test('bytes that are not JPEG, PNG, WebP or GIF are 415 UNSUPPORTED_MEDIA whatever their name or type says', async () => {
    const files: [string, Buffer, Record<string, unknown>][] = [
      [
        'text renamed .png',
        Buffer.from('hello, this is not a picture\n'.repeat(20)),
        { name: 'a.png', mime: 'image/png' },
      ],
      [
        'SVG',
        Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>'),
        { name: 'a.svg', mime: 'image/svg+xml' },
      ],
      ['PDF', Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n'), {}],
      [
        'a PNG header with garbage after it',
        Buffer.concat([(await solid(8, 8, 'png')).subarray(0, 20), Buffer.alloc(200, 7)]),
        {},
      ],
    ];
    for (const [what, bytes, extra] of files) {
      const r = await alice.upload(bytes, extra);
      assert.equal(r.status, 415, what);
      assert.equal(r.json.code, ErrorCode.UnsupportedMedia, what);
    }
    const declared = await alice.open(Buffer.from('%PDF-1.4'), { mime: 'application/pdf' });
    assert.equal(declared.status, 415, 'a declared non-image type is refused at POST');
  });

  test('a file over maxImageBytes is refused at POST with 413 MEDIA_TOO_LARGE', async () => {
    const r = await alice.req('POST', '/media/uploads', { size: Limits.maxImageBytes + 1, sha256: 'ab'.repeat(32) });
    assert.equal(r.status, 413);
    assert.equal(r.json.code, ErrorCode.MediaTooLarge);
  });

  test('a decompression bomb (a 100 KB PNG of 30000×30000 pixels) is refused with 413 from its header', async () => {
    const bomb = pngBomb();
    assert.ok(bomb.length < 200_000, `${bomb.length} bytes`);
    const r = await alice.upload(bomb);
    assert.equal(r.status, 413, JSON.stringify(r.json));
    assert.equal(r.json.code, ErrorCode.MediaTooLarge);
    assert.match(String(r.json.message), /900000000 pixels/);
  });

  test('a file whose digest is not the declared sha256 is 400 INVALID and the upload is dropped', async () => {
    const png = await noisePng(64, 64);
    const r = await alice.req('POST', '/media/uploads', { size: png.length, sha256: sha256(Buffer.from('other')) });
    const { upload, chunkSize, chunks } = r.json as { upload: string; chunkSize: number; chunks: number };
    for (let i = 0; i < chunks; i++) await alice.put(upload, png, chunkSize, i);
    const done = await alice.complete(upload);
    assert.equal(done.status, 400);
    assert.equal(done.json.code, ErrorCode.Invalid);
    assert.equal((await alice.req('GET', `/media/uploads/${upload}`)).status, 404);
  });

  test('bad POST bodies are 400 INVALID', async () => {
    const good = { size: 10, sha256: 'ab'.repeat(32) };
    const bad: unknown[] = [
      { ...good, size: 0 },
      { ...good, size: 1.5 },
      { ...good, sha256: 'xyz' },
      { ...good, chunkSize: 1000 },
      { ...good, chunkSize: Limits.maxImageChunk + 1 },
      { ...good, name: 'a\u0000b' },
      { ...good, name: 'n'.repeat(Limits.maxFileName + 1) },
      [good],
    ];
    for (const body of bad) {
      const r = await alice.req('POST', '/media/uploads', body as Record<string, unknown>);
      assert.equal(r.status, 400, JSON.stringify(body).slice(0, 60));
      assert.equal(r.json.code, ErrorCode.Invalid);
    }
    const notJson = await alice.req('POST', '/media/uploads', Buffer.from('{nope'), {
      'content-type': 'application/json',
    });
    assert.equal(notJson.status, 400);
  });

  test('EXIF orientation is applied and every metadata block (GPS included) is stripped from the stored JPEG', async () => {
    const jpeg = await jpegWithGps();
    const before = await sharp(jpeg).metadata();
    assert.equal(before.orientation, 6);
    assert.ok(jpeg.includes(GPS_MARKER), 'the upload carries the GPS block');
    const media = await alice.uploadMedia(jpeg);
    assert.deepEqual([media.mime, media.width, media.height], ['image/jpeg', 40, 60]);
    const stored = (await alice.req('GET', `/media/${media.id}`)).bytes;
    const meta = await sharp(stored).metadata();
    assert.equal(meta.exif, undefined);
    assert.equal(meta.xmp, undefined);
    assert.equal(meta.orientation, undefined);
    assert.deepEqual([meta.width, meta.height], [40, 60]);
    assert.ok(!stored.includes(GPS_MARKER) && !stored.includes('synkey test'));
  });

  test('a GIF keeps its frames and loses its comment and XMP blocks', async () => {
    const gif = gifWithMetadata(await animatedGif(3), 'secret place');
    assert.equal((await sharp(gif, { animated: true }).metadata()).pages, 3);
    const media = await alice.uploadMedia(gif);
    assert.deepEqual([media.mime, media.width, media.height], ['image/gif', 40, 30]);
    const stored = (await alice.req('GET', `/media/${media.id}`)).bytes;
    assert.ok(!stored.includes('secret place'));
    assert.ok(!stored.includes('XMP DataXMP'));
    const meta = await sharp(stored, { animated: true }).metadata();
    assert.deepEqual([meta.pages, meta.loop, meta.delay], [3, 0, [100, 100, 100]]);
  });

  test('WebP is re-encoded as WebP; the thumbnail fits in thumbSize and is never enlarged', async () => {
    const big = await alice.uploadMedia(await solid(1200, 800, 'webp'));
    assert.deepEqual([big.mime, big.width, big.height], ['image/webp', 1200, 800]);
    const thumb = await alice.req('GET', `/media/${big.id}/thumb`);
    assert.equal(thumb.status, 200);
    assert.equal(thumb.headers.get('content-type'), 'image/webp');
    const t = await sharp(thumb.bytes).metadata();
    assert.deepEqual([t.format, t.width, t.height], ['webp', Limits.thumbSize, 320]);

    const tall = await alice.uploadMedia(await solid(300, 2000, 'jpeg'));
    const tt = await sharp((await alice.req('GET', `/media/${tall.id}/thumb`)).bytes).metadata();
    assert.deepEqual([tt.width, tt.height], [72, Limits.thumbSize]);

    const small = await alice.uploadMedia(await solid(100, 50, 'png'));
    const st = await sharp((await alice.req('GET', `/media/${small.id}/thumb`)).bytes).metadata();
    assert.deepEqual([st.width, st.height], [100, 50]);
  });
});

describe('media HTTP rules', () => {
  test('requests without a valid bearer token are 401, and a token in the URL is not accepted', async () => {
    const none = await fetch(`${server.url}/media/uploads`, { method: 'POST', body: '{}' });
    assert.equal(none.status, 401);
    assert.equal(((await none.json()) as { code: string }).code, ErrorCode.Unauthenticated);
    const inUrl = await fetch(`${server.url}/media/uploads?access_token=${alice.token}`, {
      method: 'POST',
      body: '{}',
    });
    assert.equal(inUrl.status, 401);
    const expired = new MediaApi(server.url, await mintToken(server.secret, 'alice', { ttlSeconds: -10 }));
    const r = await expired.req('GET', '/media/uploads/AAAAAAAAAAAAAAAAAAAAAA');
    assert.equal(r.status, 401);
    assert.equal(r.json.code, ErrorCode.TokenExpired);
  });

  test('CORS lets other origins send the Authorization header, PUT and DELETE, and read ETag and Content-Range', async () => {
    const r = await fetch(`${server.url}/media/uploads/x/0`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://site.example',
        'access-control-request-method': 'PUT',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    assert.equal(r.status, 204);
    assert.match(r.headers.get('access-control-allow-headers') ?? '', /authorization/);
    assert.match(r.headers.get('access-control-allow-methods') ?? '', /PUT/);
    assert.match(r.headers.get('access-control-allow-methods') ?? '', /DELETE/);
    const media = await alice.uploadMedia(await solid(10, 10, 'png'));
    const got = await alice.req('GET', `/media/${media.id}`, undefined, { origin: 'https://site.example' });
    assert.equal(got.headers.get('access-control-allow-origin'), '*');
    assert.match(got.headers.get('access-control-expose-headers') ?? '', /etag/);
    assert.match(got.headers.get('access-control-expose-headers') ?? '', /content-range/);
  });

  test('files are written under server-made names only, whatever name the client gives', async () => {
    const media = await alice.uploadMedia(await solid(20, 20, 'png'), { name: '../../evil.png' });
    assert.equal(media.name, 'evil.png');
    const names = readdirSync(server.mediaDir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => e.name);
    assert.ok(names.length > 0);
    for (const name of names) assert.match(name, /^[0-9a-f]{32}(\.thumb)?$/);
  });
});
