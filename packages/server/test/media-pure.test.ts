import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, Limits } from '@synkey/protocol';
import { MalformedGif, stripGifMetadata } from '../src/media/gif';
import { KeyedLock } from '../src/media/locks';
import { etagMatches, parseRange } from '../src/media/range';
import { sniffAudio, sniffImage } from '../src/media/sniff';
import { checkUploadRequest, chunkLength, parseChunkIndex } from '../src/media/upload-request';
import { animatedGif, gifWithMetadata } from './media-client';

describe('parseRange', () => {
  test('reads one bytes range, clamps its end, and tells unsatisfiable from ignorable', () => {
    assert.deepEqual(parseRange('bytes=0-99', 1000), { start: 0, end: 99 });
    assert.deepEqual(parseRange('bytes=900-', 1000), { start: 900, end: 999 });
    assert.deepEqual(parseRange('bytes=990-5000', 1000), { start: 990, end: 999 });
    assert.deepEqual(parseRange('bytes=-100', 1000), { start: 900, end: 999 });
    assert.deepEqual(parseRange('bytes=-5000', 1000), { start: 0, end: 999 });
    assert.equal(parseRange('bytes=1000-', 1000), 'unsatisfiable');
    assert.equal(parseRange('bytes=-0', 1000), 'unsatisfiable');
    for (const ignored of [undefined, '', 'bytes=5-1', 'bytes=0-1,5-9', 'items=0-1', 'bytes=-', 'bytes=a-b']) {
      assert.equal(parseRange(ignored, 1000), undefined, String(ignored));
    }
  });

  test('etagMatches compares weakly and understands lists and *', () => {
    assert.ok(etagMatches('"abc"', '"abc"'));
    assert.ok(etagMatches('W/"abc"', '"abc"'));
    assert.ok(etagMatches('"x", "abc"', '"abc"'));
    assert.ok(etagMatches('*', '"abc"'));
    assert.ok(!etagMatches('"abd"', '"abc"'));
    assert.ok(!etagMatches(undefined, '"abc"'));
  });
});

describe('sniffing', () => {
  const bytes = (...parts: (string | number[])[]) =>
    Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

  test('images by magic number only', () => {
    assert.equal(sniffImage(bytes([0xff, 0xd8, 0xff, 0xe0])), 'image/jpeg');
    assert.equal(sniffImage(bytes([0x89], 'PNG\r\n\x1a\n')), 'image/png');
    assert.equal(sniffImage(bytes('RIFF', [1, 2, 3, 4], 'WEBPVP8 ')), 'image/webp');
    assert.equal(sniffImage(bytes('GIF89a')), 'image/gif');
    assert.equal(sniffImage(bytes('GIF87a')), 'image/gif');
    for (const other of ['<svg>', '%PDF-1.7', 'RIFF1234WAVE', 'GIF8', '', 'BM']) {
      assert.equal(sniffImage(bytes(other)), undefined, other);
    }
  });

  test('audio containers: WebM/Matroska, Ogg, MP4', () => {
    assert.equal(sniffAudio(bytes([0x1a, 0x45, 0xdf, 0xa3])), 'audio/webm');
    assert.equal(sniffAudio(bytes('OggS')), 'audio/ogg');
    assert.equal(sniffAudio(bytes([0, 0, 0, 0x18], 'ftypmp42')), 'audio/mp4');
    for (const other of ['RIFF1234WAVE', 'ID3', 'fLaC', '']) assert.equal(sniffAudio(bytes(other)), undefined, other);
  });
});

describe('stripGifMetadata', () => {
  test('drops comment and XMP blocks and keeps every other byte', async () => {
    const gif = await animatedGif(2);
    const withMeta = gifWithMetadata(gif, 'where I was');
    assert.ok(withMeta.length > gif.length);
    assert.ok(Buffer.from(stripGifMetadata(withMeta)).equals(gif));
    assert.ok(Buffer.from(stripGifMetadata(gif)).equals(gif), 'a clean GIF is unchanged');
  });

  test('a truncated or corrupt GIF is MalformedGif', async () => {
    const gif = await animatedGif(2);
    assert.throws(() => stripGifMetadata(gif.subarray(0, gif.length - 10)), MalformedGif);
    assert.throws(() => stripGifMetadata(gif.subarray(0, 8)), MalformedGif);
    const corrupt = Buffer.from(gif);
    corrupt[13 + 3 * 2 ** ((gif[10]! & 7) + 1)] = 0x99;
    assert.throws(() => stripGifMetadata(corrupt), MalformedGif);
  });
});

describe('upload requests', () => {
  const sha = 'AB'.repeat(32);

  test('defaults the chunk size, counts chunks, lowercases the digest and keeps only the base name', () => {
    assert.deepEqual(checkUploadRequest({ size: Limits.imageChunk * 2 + 1, sha256: sha, name: 'C:\\pics\\a.png' }), {
      size: Limits.imageChunk * 2 + 1,
      sha256: 'ab'.repeat(32),
      name: 'a.png',
      chunkSize: Limits.imageChunk,
      chunks: 3,
    });
    assert.equal(checkUploadRequest({ size: 1, sha256: sha, name: '  ' }).name, null);
    assert.equal(chunkLength(1000, 400, 0), 400);
    assert.equal(chunkLength(1000, 400, 2), 200);
  });

  test('refuses with the code the status table maps', () => {
    const code = (body: Record<string, unknown>) => {
      try {
        checkUploadRequest(body);
        return 'accepted';
      } catch (e) {
        return (e as { code: string }).code;
      }
    };
    assert.equal(code({ size: Limits.maxImageBytes + 1, sha256: sha }), ErrorCode.MediaTooLarge);
    assert.equal(code({ size: 10, sha256: sha, mime: 'text/plain' }), ErrorCode.UnsupportedMedia);
    assert.equal(code({ size: 10, sha256: sha, mime: 'image/heic' }), 'accepted');
    assert.equal(code({ size: 10, sha256: sha, name: 'x\ud800' }), ErrorCode.Invalid);
    assert.equal(code({ size: '10', sha256: sha }), ErrorCode.Invalid);
    assert.throws(() => parseChunkIndex('3', 3), { code: ErrorCode.Invalid });
    assert.equal(parseChunkIndex('2', 3), 2);
  });
});

describe('KeyedLock', () => {
  test('runs jobs of one key one after another, even when one fails', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    const job =
      (name: string, fail = false) =>
      async () => {
        log.push(`${name} start`);
        await new Promise((r) => setImmediate(r));
        log.push(`${name} end`);
        if (fail) throw new Error(name);
      };
    const a = lock.run('k', job('a', true));
    const b = lock.run('k', job('b'));
    const other = lock.run('j', job('c'));
    await assert.rejects(a);
    await Promise.all([b, other]);
    assert.ok(log.indexOf('a end') < log.indexOf('b start'));
    assert.ok(log.indexOf('c start') < log.indexOf('a end'), 'another key does not wait');
    assert.equal(lock.busy('k'), false);
  });
});
