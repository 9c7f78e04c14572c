import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Media } from '@synkey/protocol';
import { checkMediaDir } from './fuzz-media-disk';
import { eventually, type MediaApi, noisePng, serveMedia, tempDir } from './media-client';

const SECRET = 'media-housekeeping-chunks-secret';
const CHUNK = 64 * 1024;

/** Opens an upload of `file` in 64 KiB chunks and sends chunks `indexes` (all by default). */
async function openWith(api: MediaApi, file: Buffer, indexes?: number[]) {
  const opened = await api.open(file, { chunkSize: CHUNK });
  assert.equal(opened.status, 201, JSON.stringify(opened.json));
  const { upload, chunks } = opened.json as { upload: string; chunks: number };
  for (const i of indexes ?? Array.from({ length: chunks }, (_, k) => k)) {
    assert.equal((await api.put(upload, file, CHUNK, i)).status, 204);
  }
  return { upload, chunks };
}

/**
 * Puts chunk files of `upload` back in the media directory as a crash between storing the file and deleting
 * the chunks leaves them. The folder is built beside it and renamed in, so a sweep never sees it half made.
 */
function leaveChunks(mediaDir: string, scratch: string, upload: string, file: Buffer, chunks: number): void {
  const built = join(scratch, `built-${upload}`);
  mkdirSync(built);
  for (let i = 0; i < chunks; i++) writeFileSync(join(built, String(i)), file.subarray(i * CHUNK, (i + 1) * CHUNK));
  renameSync(built, join(mediaDir, 'uploads', upload));
}

describe('chunk folders of finished uploads', () => {
  test('completing an upload deletes its chunk folder; completing again still answers its media', async (t) => {
    const { server, api } = await serveMedia(t, SECRET, {});
    const alice = await api('alice');
    const png = await noisePng(200, 200);
    const { upload, chunks } = await openWith(alice, png);
    assert.ok(chunks >= 2);
    assert.deepEqual(readdirSync(join(server.mediaDir, 'uploads', upload)).length, chunks);
    const done = await alice.complete(upload);
    assert.equal(done.status, 200);
    assert.ok(!existsSync(join(server.mediaDir, 'uploads', upload)));
    assert.deepEqual((await alice.complete(upload)).json.media, done.json.media);
  });

  test('chunks a crash left between storing the file and deleting them are deleted at start-up', async (t) => {
    const dir = tempDir(t);
    const opts = { dbPath: join(dir, 'chat.db') };
    const first = await serveMedia(t, SECRET, opts);
    const alice = await first.api('alice');
    const png = await noisePng(200, 200);
    const { upload, chunks } = await openWith(alice, png);
    const media = (await alice.complete(upload)).json.media as Media;
    const open = await openWith(alice, await noisePng(150, 150), [0]);
    await first.close();
    leaveChunks(first.server.mediaDir, dir, upload, png, chunks);

    const second = await serveMedia(t, SECRET, opts);
    assert.ok(!existsSync(join(second.server.mediaDir, 'uploads', upload)), 'the finished upload’s chunks went');
    assert.deepEqual(readdirSync(join(second.server.mediaDir, 'uploads', open.upload)), ['0'], 'the open one’s stay');
    const again = await (await second.api('alice')).complete(upload);
    assert.deepEqual(again.json.media, media, 'the finished upload still answers complete');
    await second.close();
    assert.deepEqual(checkMediaDir(second.server.mediaDir, opts.dbPath).problems, []);
  });

  test('the sweeper deletes chunk folders of finished and unknown uploads and keeps those of open ones', async (t) => {
    const dir = tempDir(t);
    const { server, api } = await serveMedia(t, SECRET, { dbPath: join(dir, 'chat.db'), media: { sweepMs: 20 } });
    const alice = await api('alice');
    const png = await noisePng(200, 200);
    const finished = await openWith(alice, png);
    assert.equal((await alice.complete(finished.upload)).status, 200);
    const other = await noisePng(180, 180);
    const open = await openWith(alice, other, [0]);
    const unknown = 'AAAAAAAAAAAAAAAAAAAAAA';
    leaveChunks(server.mediaDir, dir, finished.upload, png, finished.chunks);
    leaveChunks(server.mediaDir, dir, unknown, png, 1);

    const uploads = join(server.mediaDir, 'uploads');
    await eventually(() => !existsSync(join(uploads, finished.upload)) && !existsSync(join(uploads, unknown)));
    assert.deepEqual(readdirSync(join(uploads, open.upload)), ['0']);
    for (let i = 1; i < open.chunks; i++) assert.equal((await alice.put(open.upload, other, CHUNK, i)).status, 204);
    assert.equal((await alice.complete(open.upload)).status, 200, 'the open upload lost nothing');
    assert.deepEqual(readdirSync(uploads), []);
  });
});
