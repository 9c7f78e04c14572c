// Images for the media fuzzer: real PNG, JPEG, WebP and GIF files made with sharp, the same bytes
// damaged (bits flipped, cut short, headers altered, formats spliced), decompression bombs whose header
// announces more pixels than the limit, and files that are no image at all. Each carries what complete
// may answer for it.
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { Rng } from './fuzz-corpus';
import { animatedGif, gifWithMetadata, jpegWithGps, pngBomb } from './media-client';

/**
 * What complete may answer for a file: `valid` must be stored (200); `maybe` (damaged bytes) may be
 * stored or refused (413/415); a `bomb` announces more pixels than the limit and must be refused (413,
 * or 415 if its header cannot be read) without being decoded; `not-image` is 415.
 */
export type ImageClass = 'valid' | 'maybe' | 'bomb' | 'not-image';

/** A file to upload. */
export interface PoolImage {
  label: string;
  bytes: Buffer;
  cls: ImageClass;
  sha256: string;
}

const digest = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const image = (label: string, bytes: Buffer, cls: ImageClass): PoolImage => ({
  label,
  bytes,
  cls,
  sha256: digest(bytes),
});

/** Noise that does not compress, so the file is big enough for several chunks. */
function noise(rng: Rng, n: number): Buffer {
  return Buffer.from(rng.bytes(n));
}

/** The real images every run starts from (seeded: the same seed makes the same files). */
export async function basePool(seed: number): Promise<PoolImage[]> {
  const rng = new Rng(seed ^ 0x1a9e);
  const solid = (w: number, h: number, bg: string) =>
    sharp({ create: { width: w, height: h, channels: 3, background: bg } });
  const raw = (w: number, h: number, channels: 3 | 4 = 3) =>
    sharp(noise(rng, w * h * channels), { raw: { width: w, height: h, channels } });
  const made: [string, Promise<Buffer>][] = [
    ['png solid 64x48', solid(64, 48, '#c85028').png().toBuffer()],
    ['png noise 200x200 (2 chunks of 64 KiB)', raw(200, 200).png({ compressionLevel: 0 }).toBuffer()],
    ['png noise rgba 160x240 (3 chunks)', raw(160, 240, 4).png({ compressionLevel: 0 }).toBuffer()],
    ['png palette 90x70', raw(90, 70).png({ palette: true, colours: 16 }).toBuffer()],
    ['png 16-bit 40x30', solid(40, 30, '#336699').toColourspace('rgb16').png().toBuffer()],
    ['png 3000x2000 solid (6 Mpx to decode)', solid(3000, 2000, '#ffffff').png().toBuffer()],
    ['jpeg 80x60', solid(80, 60, '#0a7f3c').jpeg().toBuffer()],
    ['jpeg noise 300x300 q100 (several chunks)', raw(300, 300).jpeg({ quality: 100 }).toBuffer()],
    ['jpeg progressive 120x90', raw(120, 90).jpeg({ progressive: true }).toBuffer()],
    ['jpeg with EXIF orientation and GPS', jpegWithGps()],
    ['webp lossy 64x64', raw(64, 64).webp().toBuffer()],
    ['webp lossless 50x40', solid(50, 40, '#aa00aa').webp({ lossless: true }).toBuffer()],
    ['webp alpha 48x48', raw(48, 48, 4).webp({ alphaQuality: 50 }).toBuffer()],
    ['gif 32x32', solid(32, 32, '#102030').gif().toBuffer()],
    ['gif animated 3 frames', animatedGif(3)],
  ];
  const base = await Promise.all(made.map(async ([label, p]) => image(label, await p, 'valid')));
  const anim = base.find((b) => b.label === 'gif animated 3 frames')!;
  base.push(image('gif with comment and XMP blocks', gifWithMetadata(anim.bytes, 'fuzz metadata'), 'valid'));
  const frames = await Promise.all(['red', 'lime', 'blue'].map((c) => solid(30, 20, c).png().toBuffer()));
  base.push(
    image(
      'webp animated 3 frames',
      await sharp(frames, { join: { animated: true } })
        .webp({ delay: [80, 80, 80], loop: 0 })
        .toBuffer(),
      'valid',
    ),
  );
  return base;
}

/** A new small image of random pixels in a random format, size and encoding: never seen by the server. */
export async function freshImage(rng: Rng): Promise<PoolImage> {
  const w = rng.range(1, 300);
  const h = rng.range(1, 300);
  const channels = rng.pick([3, 4] as const);
  let s = sharp(noise(rng, w * h * channels), { raw: { width: w, height: h, channels } });
  const format = rng.pick(['png', 'jpeg', 'webp', 'gif'] as const);
  if (format === 'png') s = s.png({ compressionLevel: rng.int(10), palette: rng.chance(0.3) });
  else if (format === 'jpeg') s = s.jpeg({ quality: rng.range(1, 100), progressive: rng.chance(0.3) });
  else if (format === 'webp') s = s.webp({ quality: rng.range(1, 100), lossless: rng.chance(0.2) });
  else s = s.gif();
  return image(`fresh ${format} ${w}x${h}`, await s.toBuffer(), 'valid');
}

// ---------------------------------------------------------------------------------------------------
// Bombs and non-images

/** A GIF of `frames` frames of `w`×`h` whose pixel data is only a clear and an end code. */
function gifFrames(w: number, h: number, frames: number): Buffer {
  const le = (n: number) => [n & 0xff, (n >> 8) & 0xff];
  const head = [
    ...Buffer.from('GIF89a', 'latin1'),
    ...le(w),
    ...le(h),
    0x80,
    0,
    0,
    ...[0, 0, 0, 255, 255, 255],
    ...[0x21, 0xff, 11, ...Buffer.from('NETSCAPE2.0', 'latin1'), 3, 1, 0, 0, 0],
  ];
  const frame = [0x21, 0xf9, 4, 0, 10, 0, 0, 0, 0x2c, 0, 0, 0, 0, ...le(w), ...le(h), 0, 2, 1, 0x2c, 0];
  return Buffer.from([...head, ...Array.from({ length: frames }, () => frame).flat(), 0x3b]);
}

/** Files whose header announces more pixels than `Limits.maxImagePixels` (40 M). */
export async function bombs(base: PoolImage[]): Promise<PoolImage[]> {
  const find = (prefix: string) => base.find((b) => b.label.startsWith(prefix))!.bytes;
  const out = [
    image('png zlib bomb 8000x8000 (64 Mpx, ~10 KB)', pngBomb(8000), 'bomb'),
    image('gif 8000x8000 header, no pixel data', gifFrames(8000, 8000, 1), 'bomb'),
    image('gif 3000x3000 x 5 frames (45 Mpx in all)', gifFrames(3000, 3000, 5), 'bomb'),
  ];
  const png = Buffer.from(find('png solid'));
  setPngSize(png, 60_000, 60_000);
  out.push(image('png IHDR says 60000x60000 (CRC fixed)', png, 'bomb'));
  const jpeg = Buffer.from(find('jpeg 80x60'));
  if (setJpegSize(jpeg, 60_000, 60_000)) out.push(image('jpeg SOF says 60000x60000', jpeg, 'bomb'));
  const webp = Buffer.from(find('webp lossless'));
  if (setWebpSize(webp, 16_384, 16_384)) out.push(image('webp VP8L says 16384x16384', webp, 'bomb'));
  return out;
}

/** Files that are no accepted image, some dressed as one. */
export function nonImages(seed: number): PoolImage[] {
  const rng = new Rng(seed ^ 0x5eed);
  return [
    image('random bytes 3 KB', noise(rng, 3000), 'not-image'),
    image('random bytes 150 KB (3 chunks)', noise(rng, 150_000), 'not-image'),
    image('one byte', Buffer.from([0x89]), 'not-image'),
    image('text', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'), 'not-image'),
    image('webm audio', Buffer.concat([Buffer.from([0x1a, 0x45, 0xdf, 0xa3]), noise(rng, 2000)]), 'not-image'),
    image('bmp', Buffer.concat([Buffer.from('BM'), noise(rng, 500)]), 'not-image'),
    image('tiff', Buffer.concat([Buffer.from([0x49, 0x49, 0x2a, 0x00]), noise(rng, 500)]), 'not-image'),
    image('png magic only', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), 'maybe'),
  ];
}

// ---------------------------------------------------------------------------------------------------
// Header surgery

function setPngSize(png: Buffer, w: number, h: number): void {
  png.writeUInt32BE(w >>> 0, 16);
  png.writeUInt32BE(h >>> 0, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
}

function setJpegSize(jpeg: Buffer, w: number, h: number): boolean {
  for (let i = 2; i + 9 < jpeg.length; ) {
    if (jpeg[i] !== 0xff) return false;
    const marker = jpeg[i + 1]!;
    const len = jpeg.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xc3) {
      jpeg.writeUInt16BE(h & 0xffff, i + 5);
      jpeg.writeUInt16BE(w & 0xffff, i + 7);
      return true;
    }
    i += 2 + len;
  }
  return false;
}

function setWebpSize(webp: Buffer, w: number, h: number): boolean {
  const chunk = webp.toString('latin1', 12, 16);
  if (chunk === 'VP8L') {
    const bits = ((w - 1) & 0x3fff) | (((h - 1) & 0x3fff) << 14) | (webp.readUInt32LE(21) & 0xf0000000);
    webp.writeUInt32LE(bits >>> 0, 21);
    return true;
  }
  if (chunk === 'VP8X') {
    webp.writeUIntLE((w - 1) & 0xffffff, 24, 3);
    webp.writeUIntLE((h - 1) & 0xffffff, 27, 3);
    return true;
  }
  if (chunk === 'VP8 ') {
    webp.writeUInt16LE(w & 0x3fff, 26);
    webp.writeUInt16LE(h & 0x3fff, 28);
    return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------
// Mutation

const INTERESTING = [0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe];

/**
 * A damaged copy of `img`: bits flipped (anywhere, or in the first 64 bytes), bytes overwritten, cut
 * short, cut in the middle, a tail of garbage, another format's body spliced on, header sizes altered
 * (odd, zero or huge: a huge one makes a bomb), or another format's magic number. Class `maybe`, `bomb`
 * for a huge size in a header the server reads before decoding.
 */
export function mutateImage(rng: Rng, img: PoolImage, donors: readonly PoolImage[]): PoolImage {
  const b = Buffer.from(img.bytes);
  const n = b.length;
  const kind = rng.weighted<string>([
    [20, 'bit-flip'],
    [12, 'header-bit-flip'],
    [10, 'set-bytes'],
    [12, 'truncate'],
    [6, 'cut-middle'],
    [6, 'garbage-tail'],
    [6, 'splice'],
    [14, 'size'],
    [6, 'magic'],
    [4, 'zero-run'],
  ]);
  const label = `${img.label}, ${kind}`;
  switch (kind) {
    case 'bit-flip':
    case 'header-bit-flip':
      for (let k = rng.range(1, 12); k > 0; k--) {
        const i = kind === 'bit-flip' ? rng.int(n) : rng.int(Math.min(n, 64));
        b[i] = b[i]! ^ (1 << rng.int(8));
      }
      return image(label, b, 'maybe');
    case 'set-bytes':
      for (let k = rng.range(1, 6); k > 0; k--) b[rng.int(n)] = rng.pick(INTERESTING);
      return image(label, b, 'maybe');
    case 'truncate':
      return image(label, b.subarray(0, rng.range(1, Math.max(1, n - 1))), 'maybe');
    case 'cut-middle': {
      const i = rng.int(n);
      return image(label, Buffer.concat([b.subarray(0, i), b.subarray(Math.min(n, i + rng.range(1, 400)))]), 'maybe');
    }
    case 'garbage-tail':
      return image(label, Buffer.concat([b, Buffer.from(rng.bytes(rng.range(1, 2000)))]), 'maybe');
    case 'splice': {
      const d = rng.pick(donors).bytes;
      return image(
        label,
        Buffer.concat([b.subarray(0, rng.range(8, Math.max(8, Math.min(n, 200)))), d.subarray(rng.int(d.length))]),
        'maybe',
      );
    }
    case 'size': {
      const huge = rng.chance(0.3);
      const w = huge ? rng.pick([60_000, 65_535, 2 ** 31 - 1]) : rng.pick([0, 1, 7, 4096, 20_000]);
      const h = huge ? rng.pick([60_000, 65_535, 30_000]) : rng.pick([0, 1, 3, 4096, 9_999]);
      const fmt = img.label.slice(0, 4);
      let ok = false;
      if (fmt === 'png ' && n > 33) {
        setPngSize(b, w, h);
        ok = true;
      } else if (fmt === 'jpeg') ok = setJpegSize(b, w, h);
      else if (fmt === 'webp' && n > 30) ok = setWebpSize(b, Math.min(w, 16_384), Math.min(h, 16_384));
      else if (fmt === 'gif ' && n > 10) {
        b.writeUInt16LE(w & 0xffff, 6);
        b.writeUInt16LE(h & 0xffff, 8);
        ok = true;
      }
      if (!ok) {
        const i = rng.int(n);
        b[i] = b[i]! ^ 0x10;
      }
      // A PNG's IHDR, a JPEG's SOF and a WebP's header are read before decoding; a GIF's screen size need not be.
      const bomb = ok && huge && fmt !== 'gif ' && (fmt !== 'webp' || Math.min(w, 16_384) * Math.min(h, 16_384) > 4e7);
      return image(`${label} ${w}x${h}`, b, bomb ? 'bomb' : 'maybe');
    }
    case 'magic': {
      const magic = rng.pick([
        [0xff, 0xd8, 0xff, 0xe0],
        [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
        [...Buffer.from('GIF89a', 'latin1')],
        [...Buffer.from('RIFF\0\0\0\0WEBPVP8 ', 'latin1')],
      ]);
      b.set(magic.slice(0, Math.min(magic.length, n)), 0);
      return image(label, b, 'maybe');
    }
    default: {
      const i = rng.int(n);
      b.fill(rng.pick([0, 0xff]), i, Math.min(n, i + rng.range(16, 4096)));
      return image(label, b, 'maybe');
    }
  }
}
