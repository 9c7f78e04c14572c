// Compressed copies of static files (the embed's scripts, the demo's pages), made on first request
// and kept while the file is unchanged.
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';

/** A content coding the server can send. */
export type Encoding = 'br' | 'gzip';

/** Types worth compressing; images and audio are compressed already. */
const COMPRESSIBLE = /\.(m?js|css|html|json|svg|txt|map)$/;
/** Larger files are streamed as they are rather than held in memory. */
const MAX_BYTES = 4 * 1024 * 1024;

/**
 * The coding to answer `accept` (an Accept-Encoding header) with: `br` if acceptable, else `gzip`,
 * else none. A coding listed with `q=0` is refused; `*` accepts both.
 */
export function pickEncoding(accept: string | undefined): Encoding | undefined {
  const q = new Map<string, number>();
  for (const part of (accept ?? '').split(',')) {
    const [name = '', ...params] = part.trim().toLowerCase().split(';');
    if (!name) continue;
    const weight = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    q.set(name, weight === undefined ? 1 : Number(weight));
  }
  const ok = (coding: Encoding) => (q.get(coding) ?? q.get('*') ?? 0) > 0;
  return ok('br') ? 'br' : ok('gzip') ? 'gzip' : undefined;
}

const compressors: Record<Encoding, (data: Buffer) => Promise<Buffer>> = {
  br: (data) =>
    promisify(brotliCompress)(data, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length },
    }),
  gzip: (data) => promisify(gzip)(data, { level: 9 }),
};

/** The compressed copies, by file and coding, for the file's current version. */
export class CompressedFiles {
  private readonly copies = new Map<string, { mtimeMs: number; size: number; body: Promise<Buffer | undefined> }>();

  /**
   * `file` (last modified `mtimeMs`, `size` bytes) in `encoding`, or undefined when it is not worth
   * compressing (its type, its size, or the copy would not be smaller).
   */
  get(file: string, mtimeMs: number, size: number, encoding: Encoding | undefined): Promise<Buffer | undefined> {
    if (!encoding || !COMPRESSIBLE.test(file) || size > MAX_BYTES || size < 256) return Promise.resolve(undefined);
    const key = `${encoding}:${file}`;
    const held = this.copies.get(key);
    if (held && held.mtimeMs === mtimeMs && held.size === size) return held.body;
    const body = readFile(file)
      .then((data) => compressors[encoding](data))
      .then((packed) => (packed.length < size ? packed : undefined))
      .catch(() => {
        this.copies.delete(key);
        return undefined;
      });
    this.copies.set(key, { mtimeMs, size, body });
    return body;
  }
}
