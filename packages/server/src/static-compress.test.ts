import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { CompressedFiles, pickEncoding } from './static-compress';

test('pickEncoding prefers brotli, falls back to gzip, honours q=0 and *, and sends identity otherwise', () => {
  assert.equal(pickEncoding('gzip, deflate, br'), 'br');
  assert.equal(pickEncoding('gzip'), 'gzip');
  assert.equal(pickEncoding('br;q=0, gzip;q=0.5'), 'gzip');
  assert.equal(pickEncoding('BR'), 'br');
  assert.equal(pickEncoding('*'), 'br');
  assert.equal(pickEncoding('*, br;q=0'), 'gzip');
  assert.equal(pickEncoding('deflate'), undefined);
  assert.equal(pickEncoding('gzip;q=0'), undefined);
  assert.equal(pickEncoding(''), undefined);
  assert.equal(pickEncoding(undefined), undefined);
});

test('text files are compressed once per version; images, tiny files and unknown codings are not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'synkey-compress-'));
  try {
    const js = join(dir, 'app.js');
    const text = 'export const greeting = "hello";\n'.repeat(200);
    writeFileSync(js, text);
    const files = new CompressedFiles();
    const br = await files.get(js, 1, text.length, 'br');
    assert.ok(br && br.length < text.length);
    assert.equal(brotliDecompressSync(br).toString(), text);
    assert.equal(await files.get(js, 1, text.length, 'br'), br, 'the same copy while the file is unchanged');
    const gz = await files.get(js, 1, text.length, 'gzip');
    assert.equal(gunzipSync(gz as Buffer).toString(), text);

    const changed = 'export const farewell = "bye";\n'.repeat(300);
    writeFileSync(js, changed);
    utimesSync(js, new Date(), new Date(Date.now() + 5_000));
    const again = await files.get(js, 2, changed.length, 'br');
    assert.equal(brotliDecompressSync(again as Buffer).toString(), changed, 'a new version gets a new copy');

    const png = join(dir, 'a.png');
    writeFileSync(png, Buffer.alloc(4096));
    assert.equal(await files.get(png, 1, 4096, 'br'), undefined);
    const tiny = join(dir, 'tiny.js');
    writeFileSync(tiny, 'x');
    assert.equal(await files.get(tiny, 1, 1, 'gzip'), undefined);
    assert.equal(await files.get(js, 2, changed.length, undefined), undefined);
    assert.equal(
      await files.get(join(dir, 'gone.js'), 1, 1000, 'gzip'),
      undefined,
      'a file gone meanwhile is not an error',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
