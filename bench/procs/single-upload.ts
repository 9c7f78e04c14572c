// The upload baseline's endpoint, mounted in the benchmark's Synkey server process: one POST carries
// the whole file, which is held the way the media store holds a chunk (buffered, written to a temp
// file, fsynced, renamed into place). No checks, no re-encoding: the bare cost of moving the bytes.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';

/** A route answering `POST /bench/single-upload` by storing the body under `dir`. */
export function singleUploadRoute(dir: string) {
  mkdirSync(dir, { recursive: true });
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (req.method !== 'POST' || req.url !== '/bench/single-upload') return false;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const data = Buffer.concat(chunks);
    const name = randomBytes(12).toString('hex');
    const tmp = join(dir, `${name}.tmp`);
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(dir, name));
    const body = JSON.stringify({ size: data.length });
    res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
    return true;
  };
}
