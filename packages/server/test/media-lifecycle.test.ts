import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConvKind, ErrorCode, type Media, MsgKind, Op } from '@synkey/protocol';
import { mintToken, startServer } from '../src/index';
import { eventually, fakeWebm, MediaApi, noisePng, serveMedia, solid, tempDir } from './media-client';
import { RawClient } from './raw-client';

const SECRET = 'media-lifecycle-secret';

describe('cleanup', () => {
  test('unfinished image uploads and voice notes idle past staleUploadMs are deleted with their chunks', async (t) => {
    const { server, api } = await serveMedia(t, SECRET, { media: { staleUploadMs: 1500, sweepMs: 50 } });
    const alice = await api('alice');
    const png = await noisePng(200, 200);
    const opened = await alice.open(png, { chunkSize: 64 * 1024 });
    const upload = opened.json.upload as string;
    assert.equal((await alice.put(upload, png, 64 * 1024, 0)).status, 204);
    assert.ok(existsSync(join(server.mediaDir, 'uploads', upload, '0')));
    const { client } = await RawClient.login(server.wsUrl, await mintToken(SECRET, 'alice'));
    const voice = fakeWebm(2000);
    await client.request(Op.VOICE_PART, { upload: 'stale-note', index: 0, data: voice.subarray(0, 1000) });
    assert.equal(server.store.media.voiceParts('alice', 'stale-note').length, 1);

    await eventually(async () => (await alice.req('GET', `/media/uploads/${upload}`)).status === 404);
    assert.ok(!existsSync(join(server.mediaDir, 'uploads', upload)));
    await eventually(() => server.store.media.voiceParts('alice', 'stale-note').length === 0);
    const last = await client.request(Op.VOICE_PART, {
      upload: 'stale-note',
      index: 1,
      data: voice.subarray(1000),
      last: true,
    });
    assert.equal(last.op, Op.PART_ACK);
    assert.equal(last.body.media, undefined, 'part 0 is gone, so the note cannot complete');
    client.close();
  });

  test('the sweeper keeps finished media and their records', async (t) => {
    const { api } = await serveMedia(t, SECRET, { media: { staleUploadMs: 1500, sweepMs: 20 } });
    const alice = await api('alice');
    const png = await solid(50, 50, 'png');
    const opened = await alice.open(png);
    const upload = opened.json.upload as string;
    await alice.put(upload, png, opened.json.chunkSize as number, 0);
    const media = (await alice.complete(upload)).json.media as Media;
    const stale = (await alice.open(await solid(60, 50, 'png'))).json.upload as string;
    await eventually(async () => (await alice.req('GET', `/media/uploads/${stale}`)).status === 404);
    assert.equal((await alice.req('GET', `/media/${media.id}`)).status, 200);
    assert.deepEqual((await alice.complete(upload)).json.media, media, 'the finished upload still answers complete');
  });
});

describe('durability', () => {
  test('a restarted server still serves stored media (the media directory defaults to beside the database)', async (t) => {
    const dir = tempDir(t);
    const dbPath = join(dir, 'chat.db');
    const first = await serveMedia(t, SECRET, { dbPath });
    assert.equal(first.server.mediaDir, join(dir, 'media'));
    const alice = await first.api('alice');
    const media = await alice.uploadMedia(await noisePng(90, 60));
    const bytes = (await alice.req('GET', `/media/${media.id}`)).bytes;
    const { client } = await RawClient.login(first.server.wsUrl, alice.token);
    const conv = (
      (await client.request(Op.CONV_CREATE, { kind: ConvKind.Direct, members: ['bob'] })).body.conv as {
        id: number;
      }
    ).id;
    assert.equal(
      (await client.request(Op.SEND, { cmid: 'p1', conv, kind: MsgKind.Image, media: media.id })).op,
      Op.SEND_ACK,
    );
    client.close();
    await first.close();

    const second = await serveMedia(t, SECRET, { dbPath });
    const bob = await second.api('bob');
    const again = await bob.req('GET', `/media/${media.id}`);
    assert.equal(again.status, 200);
    assert.ok(again.bytes.equals(bytes));
    assert.equal((await bob.req('GET', `/media/${media.id}/thumb`)).status, 200);
    const { client: bobLink } = await RawClient.login(second.server.wsUrl, bob.token);
    const history = await bobLink.request(Op.HISTORY, { conv });
    assert.deepEqual((history.body.msgs as { media?: Media }[])[0]?.media, media);
    bobLink.close();
  });

  test('files a crash left behind (no database row) and temp files are deleted at startup', async (t) => {
    const dir = tempDir(t);
    const opts = { dbPath: join(dir, 'chat.db'), mediaDir: join(dir, 'files-here') };
    const first = await serveMedia(t, SECRET, opts);
    const media = await (await first.api('alice')).uploadMedia(await solid(20, 20, 'png'));
    await first.close();
    const orphan = join(opts.mediaDir, 'files', 'ab', `ab${'0'.repeat(30)}`);
    mkdirSync(join(opts.mediaDir, 'files', 'ab'), { recursive: true });
    writeFileSync(orphan, 'left by a crash');
    writeFileSync(join(opts.mediaDir, 'tmp', 'half-written'), 'x');
    mkdirSync(join(opts.mediaDir, 'uploads', 'AAAAAAAAAAAAAAAAAAAAAA'));

    const second = await serveMedia(t, SECRET, opts);
    assert.ok(!existsSync(orphan));
    assert.deepEqual(readdirSync(join(opts.mediaDir, 'tmp')), []);
    assert.deepEqual(readdirSync(join(opts.mediaDir, 'uploads')), []);
    assert.equal((await (await second.api('alice')).req('GET', `/media/${media.id}`)).status, 200);
  });
});

describe('limits per user', () => {
  test('open uploads are capped per user (429 RATE_LIMITED) and a cancelled one frees its slot', async (t) => {
    const { api } = await serveMedia(t, SECRET, {
      media: { quota: { maxOpenUploads: 2 } },
    });
    const alice = await api('alice');
    const bob = await api('bob');
    const files = await Promise.all([1, 2, 3].map((n) => solid(10 + n, 10, 'png')));
    const first = await alice.open(files[0]!);
    assert.equal((await alice.open(files[1]!)).status, 201);
    const third = await alice.open(files[2]!);
    assert.equal(third.status, 429);
    assert.equal(third.json.code, ErrorCode.RateLimited);
    assert.equal((await bob.open(files[2]!)).status, 201, 'other users are not affected');
    await alice.req('DELETE', `/media/uploads/${first.json.upload}`);
    assert.equal((await alice.open(files[2]!)).status, 201);
  });

  test('bytes in open uploads are capped per user', async (t) => {
    const { api } = await serveMedia(t, SECRET, { media: { quota: { maxOpenBytes: 100_000 } } });
    const alice = await api('alice');
    const r = await alice.req('POST', '/media/uploads', { size: 100_001, sha256: 'ab'.repeat(32) });
    assert.equal(r.status, 429);
    assert.equal((await alice.req('POST', '/media/uploads', { size: 100_000, sha256: 'ab'.repeat(32) })).status, 201);
  });

  test('bytes uploaded in a day are capped per user, finished uploads included', async (t) => {
    const png = await solid(40, 40, 'png');
    const { api } = await serveMedia(t, SECRET, { media: { quota: { maxBytesPerDay: png.length + 10 } } });
    const alice = await api('alice');
    await alice.uploadMedia(png);
    const r = await alice.req('POST', '/media/uploads', { size: 11, sha256: 'ab'.repeat(32) });
    assert.equal(r.status, 429);
    assert.match(String(r.json.message), /a day/);
    assert.equal((await alice.req('POST', '/media/uploads', { size: 10, sha256: 'ab'.repeat(32) })).status, 201);
  });

  test('the media routes are rate-limited per user: 429 with Retry-After', async (t) => {
    const { api } = await serveMedia(t, SECRET, { media: { rateLimit: { perSecond: 0.5, burst: 3 } } });
    const alice = await api('alice');
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<MediaApi['req']>> | undefined;
    for (let i = 0; i < 5; i++) {
      const r = await alice.req('GET', '/media/nothing-here');
      statuses.push(r.status);
      if (r.status === 429) limited ??= r;
    }
    assert.deepEqual(statuses.slice(0, 3), [404, 404, 404]);
    assert.ok(limited, `statuses ${statuses}`);
    assert.equal(limited.json.code, ErrorCode.RateLimited);
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    assert.ok(Number(limited.json.retryMs) > 0);
    assert.equal((await (await api('bob')).req('GET', '/media/nothing-here')).status, 404, 'bob has his own bucket');
  });
});

describe('dev mode', () => {
  test('a user held offline by the dev switch is refused by the media routes too (503 UNAVAILABLE)', async (t) => {
    const server = await startServer({ port: 0, dev: true, log: () => {} });
    t.after(() => server.close());
    const alice = new MediaApi(server.url, await mintToken(server.secret, 'alice'));
    const media = await alice.uploadMedia(await solid(12, 12, 'png'));
    const off = await fetch(`${server.url}/dev/offline?user=alice&on=1`, { method: 'POST' });
    assert.equal(off.status, 200);
    const refused = await alice.req('GET', `/media/${media.id}`);
    assert.equal(refused.status, 503);
    assert.equal(refused.json.code, ErrorCode.Unavailable);
    await fetch(`${server.url}/dev/offline?user=alice&on=0`, { method: 'POST' });
    assert.equal((await alice.req('GET', `/media/${media.id}`)).status, 200);
  });
});
