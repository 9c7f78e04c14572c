import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { ErrorCode, Limits, ProtocolError } from '@synkey/protocol';
import sharp from 'sharp';
import { sendPolicy } from '../src/backoff';
import { linkDown, ServerError } from '../src/errors';
import { heldBytes, heldFraction, missingPieces, pieceCount, pieceRange } from '../src/media/chunks';
import { Sha256, sha256Hex } from '../src/media/hash';
import { parseMedia } from '../src/media/http';
import { imageSize, readImageSize } from '../src/media/image-size';
import { Limiter } from '../src/media/limiter';
import { RetryBudget } from '../src/media/retry';
import { checkImage, checkVoice } from '../src/media/validate';
import { sleep } from './helpers';

function rejectsWithCode(code: string) {
  return (e: unknown) => e instanceof ProtocolError && e.code === code;
}

describe('chunk plan', () => {
  it('splits a file into full pieces and a shorter last one, and an empty file into one empty piece', () => {
    assert.equal(pieceCount(1_000, 256), 4);
    assert.equal(pieceCount(1_024, 256), 4);
    assert.equal(pieceCount(1_025, 256), 5);
    assert.equal(pieceCount(0, 256), 1);
    assert.deepEqual(pieceRange(1_000, 256, 0), { start: 0, end: 256 });
    assert.deepEqual(pieceRange(1_000, 256, 3), { start: 768, end: 1_000 });
    assert.throws(() => pieceCount(10, 0), RangeError);
  });

  it('lists the missing pieces and counts the bytes held, ignoring repeats and indexes outside the file', () => {
    assert.deepEqual(missingPieces(5, [0, 3, 3, 9]), [1, 2, 4]);
    assert.deepEqual(missingPieces(3, []), [0, 1, 2]);
    assert.equal(heldBytes(1_000, 256, [3, 3, 0, 7, -1, 1.5]), 256 + 232);
    assert.equal(heldFraction(1_000, 256, [0, 1, 2, 3]), 1);
    assert.equal(heldFraction(1_000, 256, []), 0);
  });
});

describe('Limiter', () => {
  it('runs at most `max` tasks at once, the others in call order', async () => {
    const limiter = new Limiter(2);
    const order: number[] = [];
    let running = 0;
    let most = 0;
    await Promise.all(
      [0, 1, 2, 3, 4].map((i) =>
        limiter.run(async () => {
          running++;
          most = Math.max(most, running);
          order.push(i);
          await sleep(5);
          running--;
        }),
      ),
    );
    assert.equal(most, 2);
    assert.deepEqual(order, [0, 1, 2, 3, 4]);
    assert.equal(limiter.active, 0);
  });

  it('a waiting task whose signal aborts rejects without running and frees its place in the queue', async () => {
    const limiter = new Limiter(1);
    let release!: () => void;
    const first = limiter.run(() => new Promise<void>((resolve) => (release = resolve)));
    const stop = new AbortController();
    let ran = false;
    const waiting = limiter.run(async () => {
      ran = true;
    }, stop.signal);
    const third = limiter.run(async () => 'third');
    stop.abort(new ProtocolError(ErrorCode.Unavailable, 'cancelled'));
    await assert.rejects(waiting, rejectsWithCode(ErrorCode.Unavailable));
    release();
    await first;
    assert.equal(await third, 'third');
    assert.equal(ran, false);
  });
});

describe('SHA-256', () => {
  it('the streaming digest equals node:crypto around the block boundaries and across slices', async () => {
    for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1_000, (1 << 20) + 3]) {
      const data = new Uint8Array(n).map((_, i) => (i * 31 + 7) & 255);
      const want = createHash('sha256').update(data).digest('hex');
      const split = new Sha256()
        .update(data.subarray(0, n >> 1))
        .update(data.subarray(n >> 1))
        .digest();
      assert.equal(Buffer.from(split).toString('hex'), want, `${n} bytes in two updates`);
      assert.equal(await sha256Hex(new Blob([data]), undefined), want, `${n} bytes streamed from a Blob`);
      assert.equal(await sha256Hex(new Blob([data])), want, `${n} bytes through crypto.subtle`);
    }
  });
});

describe('image dimensions from the header', () => {
  const make = (format: 'png' | 'gif' | 'jpeg' | 'webp', width: number, height: number, lossless = false) => {
    const image = sharp({ create: { width, height, channels: 3, background: '#3a6' } });
    return format === 'webp' ? image.webp({ lossless }).toBuffer() : image.toFormat(format).toBuffer();
  };

  it('reads PNG, GIF, JPEG and WebP (lossy, lossless, extended) sizes', async () => {
    for (const format of ['png', 'gif', 'jpeg', 'webp'] as const) {
      assert.deepEqual(imageSize(await make(format, 321, 123)), { width: 321, height: 123 }, format);
    }
    assert.deepEqual(imageSize(await make('webp', 300, 17, true)), { width: 300, height: 17 }, 'webp lossless');
    const extended = await sharp({ create: { width: 40, height: 30, channels: 4, background: '#3a68' } })
      .webp()
      .toBuffer();
    assert.deepEqual(imageSize(extended), { width: 40, height: 30 }, 'webp with alpha (VP8X)');
  });

  it('swaps width and height of a JPEG whose EXIF orientation turns it by 90°', async () => {
    const turned = await sharp(await make('jpeg', 400, 100))
      .withMetadata({ orientation: 6 })
      .jpeg()
      .toBuffer();
    assert.deepEqual(imageSize(turned), { width: 100, height: 400 });
    const upright = await sharp(await make('jpeg', 400, 100))
      .withMetadata({ orientation: 3 })
      .jpeg()
      .toBuffer();
    assert.deepEqual(imageSize(upright), { width: 400, height: 100 });
  });

  it('tells nothing for other bytes or a header cut short, and never throws', async () => {
    const png = await make('png', 10, 10);
    assert.equal(imageSize(new TextEncoder().encode('not an image at all')), undefined);
    assert.equal(imageSize(png.subarray(0, 20)), undefined);
    assert.equal(imageSize(new Uint8Array([0xff, 0xd8, 0xff, 0xe1, 0x00])), undefined);
    assert.equal(await readImageSize(new Blob(['plain text'])), undefined);
    assert.deepEqual(await readImageSize(new Blob([png])), { width: 10, height: 10 });
  });
});

describe('checking files before they are queued', () => {
  const png = new Blob([new Uint8Array(10)], { type: 'image/png' });

  it('an image needs a non-empty Blob of an image type (or none), within the size limit', () => {
    assert.deepEqual(checkImage(png), { upload: { mime: 'image/png', size: 10 } });
    assert.deepEqual(checkImage(new Blob(['x'])).upload, { mime: '', size: 1 });
    assert.throws(() => checkImage('a string'), rejectsWithCode(ErrorCode.Invalid));
    assert.throws(() => checkImage(new Blob([], { type: 'image/png' })), rejectsWithCode(ErrorCode.Invalid));
    assert.throws(
      () => checkImage(new Blob(['x'], { type: 'text/html' })),
      rejectsWithCode(ErrorCode.UnsupportedMedia),
    );
    const huge = new Blob([new Uint8Array(Limits.maxImageBytes + 1)], { type: 'image/jpeg' });
    assert.throws(() => checkImage(huge), rejectsWithCode(ErrorCode.MediaTooLarge));
  });

  it("keeps a caption unless it is blank, refuses a broken or too long one, and takes a File's name without its path", () => {
    assert.equal(checkImage(png, { caption: '  ' }).caption, undefined);
    assert.equal(checkImage(png, { caption: 'sunset' }).caption, 'sunset');
    assert.throws(
      () => checkImage(png, { caption: 'x'.repeat(Limits.maxText + 1) }),
      rejectsWithCode(ErrorCode.Invalid),
    );
    assert.throws(() => checkImage(png, { caption: 'bad \uD800' }), rejectsWithCode(ErrorCode.Invalid));
    const file = new File(['x'], 'holiday.png', { type: 'image/png' });
    assert.equal(checkImage(file).upload.name, 'holiday.png');
    assert.equal(checkImage(file, { name: 'C:\\photos\\beach.png' }).upload.name, 'beach.png');
    const long = `${'a'.repeat(Limits.maxFileName - 1)}😀.png`;
    const name = checkImage(png, { name: long }).upload.name ?? '';
    assert.equal(name.length, Limits.maxFileName - 1, 'cut before the emoji, not inside it');
  });

  it('a voice note needs audio, a duration of 1 ms to the limit, and at most the largest size', () => {
    const webm = new Blob([new Uint8Array(100)], { type: 'audio/webm;codecs=opus' });
    assert.deepEqual(checkVoice(webm, 1234.4), { mime: 'audio/webm;codecs=opus', size: 100, durationMs: 1234 });
    assert.throws(() => checkVoice(webm, 0), rejectsWithCode(ErrorCode.Invalid));
    assert.throws(() => checkVoice(webm, Number.NaN), rejectsWithCode(ErrorCode.Invalid));
    assert.throws(() => checkVoice(webm, Limits.maxVoiceMs + 1), rejectsWithCode(ErrorCode.MediaTooLarge));
    assert.throws(
      () => checkVoice(new Blob(['x'], { type: 'image/png' }), 10),
      rejectsWithCode(ErrorCode.UnsupportedMedia),
    );
    const big = new Blob([new Uint8Array(Limits.maxVoiceBytes + 1)]);
    assert.throws(() => checkVoice(big, 10), rejectsWithCode(ErrorCode.MediaTooLarge));
  });
});

describe('RetryBudget', () => {
  const policy = { ...sendPolicy, maxAttempts: 3, budgetMs: 10_000, backoff: { minMs: 2, maxMs: 4 } };

  it('retries a failing request up to maxAttempts, then gives up with its error', async () => {
    const budget = new RetryBudget(policy, Math.random, new AbortController().signal);
    let calls = 0;
    await assert.rejects(
      budget.run(async () => {
        calls++;
        throw linkDown('offline');
      }),
      rejectsWithCode(ErrorCode.Unavailable),
    );
    assert.equal(calls, 3);
  });

  it('does not retry what no retry can change, and RATE_LIMITED costs no attempt', async () => {
    const budget = new RetryBudget(policy, Math.random, new AbortController().signal);
    let calls = 0;
    await assert.rejects(
      budget.run(async () => {
        calls++;
        throw new ServerError({ code: ErrorCode.UnsupportedMedia, message: 'no' });
      }),
      rejectsWithCode(ErrorCode.UnsupportedMedia),
    );
    assert.equal(calls, 1);
    let limited = 0;
    const value = await budget.run(async () => {
      if (++limited <= 4) throw new ServerError({ code: ErrorCode.RateLimited, message: 'slow', retryMs: 1 });
      return 'through';
    });
    assert.equal(value, 'through');
  });

  it('an abort ends the wait at once with the abort reason', async () => {
    const stop = new AbortController();
    const budget = new RetryBudget({ ...policy, backoff: { minMs: 60_000, maxMs: 60_000 } }, () => 0.5, stop.signal);
    const run = budget.run(async () => {
      throw linkDown('offline');
    });
    stop.abort(new ProtocolError(ErrorCode.Unavailable, 'removed'));
    await assert.rejects(run, (e: Error) => e.message === 'removed');
  });
});

describe('media records from JSON', () => {
  it('keeps the known fields of the right types and refuses a record without id, mime or size', () => {
    assert.deepEqual(parseMedia({ id: 'm', mime: 'image/png', size: 3, width: 2, height: 'x', extra: 1 }), {
      id: 'm',
      mime: 'image/png',
      size: 3,
      width: 2,
    });
    assert.throws(() => parseMedia({ id: 'm', size: 3 }), rejectsWithCode(ErrorCode.Internal));
    assert.throws(() => parseMedia(null), rejectsWithCode(ErrorCode.Internal));
  });
});
