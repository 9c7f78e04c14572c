// Image upload throughput (issue #5): a ~10 MB JPEG uploaded through the media API (PROTOCOL.md
// §13.1) in parallel chunks, for each chunk size × concurrency, against the same bytes in one single
// POST to the same server process (held the same way: buffered, fsynced, renamed). Node's fetch is
// the client; once on loopback and once through an emulated slower link (RTT and shared uplink).
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mintToken } from '@synkey/server';
import sharp from 'sharp';
import { Child } from './child';
import { type LinkShape, startLinkEmulator } from './link-emulator';

const SECRET = 'bench-secret';

/** Parameters of {@link measureUpload}. */
export interface UploadParams {
  /** Target size of the test image in bytes. */
  bytes: number;
  chunkSizes: number[];
  concurrencies: number[];
  /** Runs per configuration on loopback (the fastest is kept: the others lost time to other processes). */
  repeats: number;
  /** The emulated slower link, and runs per configuration through it. */
  link: LinkShape;
  linkRepeats: number;
}

/** One configuration's transfer time (fastest of its runs) and rate. */
export interface UploadRow {
  chunkSize: number;
  concurrency: number;
  ms: number;
  mbPerSec: number;
  runs: number[];
}

/** A JPEG of random noise (which JPEG cannot shrink) of about `bytes` bytes. */
export async function noiseJpeg(bytes: number): Promise<Buffer> {
  // Quality-92 noise takes about 2.5 bytes per pixel; correct once from a first try.
  let pixels = bytes / 2.5;
  let out = Buffer.alloc(0);
  for (let i = 0; i < 3; i++) {
    const width = Math.round(Math.sqrt(pixels * 1.5));
    const height = Math.round(pixels / width);
    const raw = Buffer.alloc(width * height * 3);
    for (let j = 0; j < raw.length; j++) raw[j] = (Math.random() * 256) | 0;
    out = await sharp(raw, { raw: { width, height, channels: 3 } })
      .jpeg({ quality: 92 })
      .toBuffer();
    if (Math.abs(out.length - bytes) / bytes < 0.03) break;
    pixels *= bytes / out.length;
  }
  return out;
}

/** `jpeg` with a comment segment naming `tag` after its SOI: same image, its own digest. */
export function tagJpeg(jpeg: Buffer, tag: string): Buffer {
  const text = Buffer.from(tag);
  const com = Buffer.alloc(4);
  com.writeUInt16BE(0xfffe, 0);
  com.writeUInt16BE(text.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), com, text, jpeg.subarray(2)]);
}

/** `b` as a fetch body, without copying. */
const bytes = (b: Buffer) => new Uint8Array(b.buffer as ArrayBuffer, b.byteOffset, b.length);

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Created {
  upload: string;
  chunkSize: number;
  chunks: number;
}

/** The media API as one user's client sees it. */
class MediaClient {
  constructor(
    private readonly base: string,
    private readonly token: string,
  ) {}

  private async call(path: string, init: RequestInit = {}): Promise<Response> {
    const res = await fetch(`${this.base}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${this.token}`, ...(init.headers ?? {}) },
    });
    if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${res.status} ${await res.text()}`);
    return res;
  }

  async create(file: Buffer, chunkSize: number): Promise<Created> {
    const res = await this.call('/media/uploads', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ size: file.length, sha256: sha256(file), mime: 'image/jpeg', chunkSize }),
    });
    const body = (await res.json()) as Created & { media?: unknown };
    if (body.media) throw new Error('the server already had this file (dedupe): the test file must be new');
    return body;
  }

  /** PUTs every chunk, `concurrency` at a time. */
  async putAll(file: Buffer, up: Created, concurrency: number): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < up.chunks) {
        const i = next++;
        const body = file.subarray(i * up.chunkSize, Math.min(file.length, (i + 1) * up.chunkSize));
        const res = await this.call(`/media/uploads/${up.upload}/${i}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/octet-stream' },
          body: bytes(body),
        });
        await res.arrayBuffer();
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, up.chunks) }, worker));
  }

  async complete(upload: string): Promise<{ media: { id: string; width?: number; height?: number } }> {
    const res = await this.call(`/media/uploads/${upload}/complete`, { method: 'POST' });
    return (await res.json()) as { media: { id: string } };
  }

  async cancel(upload: string): Promise<void> {
    await (await this.call(`/media/uploads/${upload}`, { method: 'DELETE' })).arrayBuffer();
  }

  async single(file: Buffer): Promise<void> {
    const res = await this.call('/bench/single-upload', {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes(file),
    });
    await res.arrayBuffer();
  }
}

const mbPerSec = (bytes: number, ms: number) => bytes / 2 ** 20 / (ms / 1000);

/** The single-POST baseline and every chunk size × concurrency, over one client. */
interface Matrix {
  single: { ms: number; mbPerSec: number; runs: number[] };
  chunked: UploadRow[];
}

async function matrix(
  client: MediaClient,
  fresh: () => Buffer,
  p: UploadParams,
  repeats: number,
  log: (s: string) => void,
): Promise<Matrix> {
  const size = fresh().length;
  const singles: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const file = fresh();
    const t = performance.now();
    await client.single(file);
    singles.push(performance.now() - t);
  }
  const singleMs = Math.min(...singles);
  log(`    single POST: ${singleMs.toFixed(0)} ms (${mbPerSec(size, singleMs).toFixed(1)} MiB/s)`);
  const chunked: UploadRow[] = [];
  for (const chunkSize of p.chunkSizes) {
    for (const concurrency of p.concurrencies) {
      const runs: number[] = [];
      for (let r = 0; r < repeats; r++) {
        const file = fresh();
        const t = performance.now();
        const u = await client.create(file, chunkSize);
        await client.putAll(file, u, concurrency);
        runs.push(performance.now() - t);
        await client.cancel(u.upload);
      }
      const ms = Math.min(...runs);
      chunked.push({ chunkSize, concurrency, ms, mbPerSec: mbPerSec(size, ms), runs });
      log(`    ${chunkSize / 1024} KiB × ${concurrency}: ${ms.toFixed(0)} ms (${mbPerSec(size, ms).toFixed(1)} MiB/s)`);
    }
  }
  return { single: { ms: singleMs, mbPerSec: mbPerSec(size, singleMs), runs: singles }, chunked };
}

/** Measures the upload matrix, the single-POST baseline and one full upload with `complete`. */
export async function measureUpload(p: UploadParams, log: (s: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'synkey-bench-upload-'));
  const server = await Child.start('synkey-server.ts', ['--db', join(dir, 'synkey.db'), '--bench-upload'], {
    env: { SYNKEY_SECRET: SECRET },
  });
  try {
    const image = await noiseJpeg(p.bytes);
    log(`  test image: ${(image.length / 2 ** 20).toFixed(2)} MiB JPEG`);
    const client = new MediaClient(server.url, await mintToken(SECRET, 'uploader'));
    let n = 0;
    const fresh = () => tagJpeg(image, `bench-${process.pid}-${n++}`);

    // One full upload first (also the warm-up): transfer, then complete (assemble, verify, re-encode, thumbnail).
    const first = fresh();
    let t = performance.now();
    const up = await client.create(first, 512 * 1024);
    await client.putAll(first, up, 4);
    const transferMs = performance.now() - t;
    t = performance.now();
    const done = await client.complete(up.upload);
    const completeMs = performance.now() - t;
    log(
      `  on loopback: full upload (512 KiB × 4): transfer ${transferMs.toFixed(0)} ms, complete ${completeMs.toFixed(0)} ms`,
    );

    const loopback = await matrix(client, fresh, p, p.repeats, log);
    const emulator = await startLinkEmulator(Number(new URL(server.url).port), p.link);
    let shaped: Matrix;
    try {
      log(`  through an emulated link (${p.link.rttMs} ms RTT, ${p.link.upMbit} Mbit/s up):`);
      const viaLink = new MediaClient(`http://127.0.0.1:${emulator.port}`, await mintToken(SECRET, 'uploader'));
      shaped = await matrix(viaLink, fresh, p, p.linkRepeats, log);
    } finally {
      await emulator.close();
    }
    return {
      params: p,
      fileBytes: first.length,
      full: {
        chunkSize: 512 * 1024,
        concurrency: 4,
        transferMs,
        completeMs,
        totalMs: transferMs + completeMs,
        width: done.media.width ?? 0,
        height: done.media.height ?? 0,
      },
      loopback,
      link: { ...p.link, ...shaped },
    };
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
