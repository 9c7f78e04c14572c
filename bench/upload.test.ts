import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import sharp from 'sharp';
import { noiseJpeg, tagJpeg } from './upload';

const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('a tagged test image is still the same valid JPEG, with a digest of its own', async () => {
  const jpeg = await noiseJpeg(200_000);
  assert.ok(Math.abs(jpeg.length - 200_000) / 200_000 < 0.1, `size ${jpeg.length}`);
  const a = tagJpeg(jpeg, 'run-1');
  const b = tagJpeg(jpeg, 'run-2');
  assert.notEqual(digest(a), digest(b));
  const [ma, mo] = [await sharp(a).metadata(), await sharp(jpeg).metadata()];
  assert.equal(ma.format, 'jpeg');
  assert.deepEqual([ma.width, ma.height], [mo.width, mo.height]);
  assert.deepEqual(await sharp(a).raw().toBuffer(), await sharp(jpeg).raw().toBuffer());
});
