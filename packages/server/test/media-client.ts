import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import type { Media } from '@synkey/protocol';
import sharp from 'sharp';
import { mintToken, type RunningServer, type ServerOptions, startServer } from '../src/index';

/** Hex SHA-256 of `bytes`. */
export const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A response of the media API as the tests look at it. */
export interface Reply {
  status: number;
  headers: Headers;
  json: Record<string, unknown>;
  bytes: Buffer;
}

/** A plain HTTP client of the media API for one user (no retries, no smarts). */
export class MediaApi {
  constructor(
    readonly url: string,
    readonly token: string,
  ) {}

  /** Sends one request; a plain object body goes as JSON, bytes as they are. */
  async req(
    method: string,
    path: string,
    body?: Uint8Array | Record<string, unknown>,
    headers: Record<string, string> = {},
  ): Promise<Reply> {
    const isBytes = body instanceof Uint8Array;
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body === undefined ? {} : { 'content-type': isBytes ? 'application/octet-stream' : 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: isBytes ? (body as Uint8Array<ArrayBuffer>) : JSON.stringify(body) }),
    });
    const bytes = Buffer.from(await res.arrayBuffer());
    let json: Record<string, unknown> = {};
    if (res.headers.get('content-type')?.startsWith('application/json')) json = JSON.parse(bytes.toString('utf8'));
    return { status: res.status, headers: res.headers, json, bytes };
  }

  /** `POST /media/uploads` for `file`. */
  open(file: Uint8Array, extra: Record<string, unknown> = {}): Promise<Reply> {
    return this.req('POST', '/media/uploads', { size: file.length, sha256: sha256(file), ...extra });
  }

  /** `PUT` of chunk `index` of `file` cut in `chunkSize` pieces. */
  put(upload: string, file: Uint8Array, chunkSize: number, index: number): Promise<Reply> {
    return this.req(
      'PUT',
      `/media/uploads/${upload}/${index}`,
      file.subarray(index * chunkSize, (index + 1) * chunkSize),
    );
  }

  complete(upload: string): Promise<Reply> {
    return this.req('POST', `/media/uploads/${upload}/complete`);
  }

  /** Opens, sends every chunk in order and completes; returns the reply of complete (or of open when deduped). */
  async upload(file: Uint8Array, extra: Record<string, unknown> = {}): Promise<Reply> {
    const opened = await this.open(file, extra);
    if (opened.status !== 201) return opened;
    const { upload, chunkSize, chunks } = opened.json as { upload: string; chunkSize: number; chunks: number };
    for (let i = 0; i < chunks; i++) {
      const put = await this.put(upload, file, chunkSize, i);
      if (put.status !== 204) throw new Error(`chunk ${i}: ${put.status} ${JSON.stringify(put.json)}`);
    }
    return this.complete(upload);
  }

  /** {@link upload} that must succeed; returns the media. */
  async uploadMedia(file: Uint8Array, extra: Record<string, unknown> = {}): Promise<Media> {
    const r = await this.upload(file, extra);
    if (r.status !== 200) throw new Error(`upload failed: ${r.status} ${JSON.stringify(r.json)}`);
    return r.json.media as Media;
  }
}

/** A PNG of random noise (so it does not compress): `width`×`height`, RGB. */
export function noisePng(width: number, height: number): Promise<Buffer> {
  return sharp(randomBytes(width * height * 3), { raw: { width, height, channels: 3 } })
    .png({ compressionLevel: 0 })
    .toBuffer();
}

/** A plain image of one colour in `format`. */
export function solid(width: number, height: number, format: 'jpeg' | 'png' | 'webp' | 'gif'): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 80, b: 40 } } })
    .toFormat(format)
    .toBuffer();
}

/** The text marker the GPS block of {@link jpegWithGps} carries (GPSMapDatum), to look for in stored bytes. */
export const GPS_MARKER = 'SYNKEY-GPS-DATUM';

/** A 60×40 JPEG whose EXIF says "rotate 90°" and carries a GPS position (and {@link GPS_MARKER}). */
export function jpegWithGps(): Promise<Buffer> {
  return sharp({ create: { width: 60, height: 40, channels: 3, background: 'white' } })
    .jpeg()
    .withMetadata({
      orientation: 6,
      exif: {
        IFD0: { Copyright: 'synkey test' },
        IFD3: {
          GPSLatitudeRef: 'N',
          GPSLatitude: '48/1 51/1 2436/100',
          GPSLongitudeRef: 'E',
          GPSLongitude: '2/1 21/1 792/100',
          GPSMapDatum: GPS_MARKER,
        },
      },
    })
    .toBuffer();
}

function pngChunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/**
 * A valid decompression bomb: a 1-bit greyscale PNG of `side`×`side` pixels, all black, about 100 KB for
 * 30000×30000 (900 million pixels, gigabytes once decoded).
 */
export function pngBomb(side = 30_000): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 1; // bit depth
  ihdr[9] = 0; // greyscale
  const rows = Buffer.alloc((1 + Math.ceil(side / 8)) * side);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(rows, { level: 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** An animated GIF of `frames` 40×30 frames. */
export async function animatedGif(frames = 3): Promise<Buffer> {
  const colours = ['red', 'green', 'blue', 'yellow', 'black'];
  const pngs = await Promise.all(
    Array.from({ length: frames }, (_, i) =>
      sharp({ create: { width: 40, height: 30, channels: 3, background: colours[i % colours.length]! } })
        .png()
        .toBuffer(),
    ),
  );
  return sharp(pngs, { join: { animated: true } })
    .gif({ delay: pngs.map(() => 100), loop: 0 })
    .toBuffer();
}

/** `gif` with a comment block and an XMP application block inserted before its first image. */
export function gifWithMetadata(gif: Buffer, text: string): Buffer {
  const gct = gif[10]! & 0x80 ? 3 * 2 ** ((gif[10]! & 7) + 1) : 0;
  const at = 13 + gct;
  const sub = (data: Buffer) => {
    const out: Buffer[] = [];
    for (let i = 0; i < data.length; i += 255) {
      const piece = data.subarray(i, i + 255);
      out.push(Buffer.from([piece.length]), piece);
    }
    return Buffer.concat([...out, Buffer.from([0])]);
  };
  const comment = Buffer.concat([Buffer.from([0x21, 0xfe]), sub(Buffer.from(text))]);
  const xmp = Buffer.concat([
    Buffer.from([0x21, 0xff, 11]),
    Buffer.from('XMP DataXMP', 'latin1'),
    sub(Buffer.from(`<x:xmpmeta>${text}</x:xmpmeta>`)),
  ]);
  return Buffer.concat([gif.subarray(0, at), comment, xmp, gif.subarray(at)]);
}

/** Bytes that start like a WebM file (EBML magic) followed by `size - 4` random bytes. */
export function fakeWebm(size: number): Buffer {
  return Buffer.concat([Buffer.from([0x1a, 0x45, 0xdf, 0xa3]), randomBytes(size - 4)]);
}

/** Bytes that start like an Ogg file. */
export function fakeOgg(size: number): Buffer {
  return Buffer.concat([Buffer.from('OggS'), randomBytes(size - 4)]);
}

/** Polls `check` until it is true (every 20 ms, up to `timeoutMs`); throws if it never is. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A temporary directory, removed when the test `t` ends. */
export function tempDir(t: { after(fn: () => void): void }, prefix = 'synkey-media-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A server with `opts`, signing with `secret`; closed when the test ends unless `close` was called. */
export async function serveMedia(
  t: { after(fn: () => Promise<void>): void },
  secret: string,
  opts: Partial<ServerOptions> = {},
): Promise<{ server: RunningServer; api(user: string): Promise<MediaApi>; close(): Promise<void> }> {
  const server = await startServer({ port: 0, secret, log: () => {}, ...opts });
  let closed = false;
  t.after(async () => {
    if (!closed) await server.close();
  });
  return {
    server,
    api: async (user) => new MediaApi(server.url, await mintToken(secret, user)),
    close: async () => {
      closed = true;
      await server.close();
    },
  };
}
