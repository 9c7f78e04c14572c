import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { ErrorCode, ProtocolError } from '@synkey/protocol';
import { etagMatches, parseRange } from './range';

/** A stored file to answer a GET or HEAD with. */
export interface ServedFile {
  path: string;
  mime: string;
  /** Strong validator: stored files never change, so their server-made name serves. */
  etag: string;
  maxAgeS: number;
}

/**
 * Answers GET/HEAD for an immutable stored file: `ETag`, `Cache-Control: private`, `Accept-Ranges`, 304 on a
 * matching `If-None-Match`, 206 for one satisfiable `Range` (honouring `If-Range`), 416 for an unsatisfiable
 * one. The file is typed by the type detected at upload, never sniffed, and sandboxed.
 */
export async function serveFile(req: IncomingMessage, res: ServerResponse, file: ServedFile): Promise<void> {
  const info = await stat(file.path).catch(() => null);
  if (!info?.isFile()) throw new ProtocolError(ErrorCode.NotFound, 'the file is gone');
  const size = info.size;
  const headers: Record<string, string | number> = {
    etag: file.etag,
    'cache-control': `private, max-age=${file.maxAgeS}, immutable`,
    'accept-ranges': 'bytes',
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; sandbox",
  };
  if (etagMatches(req.headers['if-none-match'], file.etag)) {
    res.writeHead(304, headers).end();
    return;
  }
  let range = parseRange(req.headers.range, size);
  const ifRange = req.headers['if-range'] as string | undefined;
  if (range !== undefined && ifRange !== undefined && ifRange.trim() !== file.etag) range = undefined;
  if (range === 'unsatisfiable') {
    res.writeHead(416, { ...headers, 'content-range': `bytes */${size}`, 'content-length': 0 }).end();
    return;
  }
  const start = range?.start ?? 0;
  const end = range?.end ?? size - 1;
  res.writeHead(range ? 206 : 200, {
    ...headers,
    'content-type': file.mime,
    'content-length': Math.max(0, end - start + 1),
    ...(range ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
  });
  if (req.method === 'HEAD' || size === 0) {
    res.end();
    return;
  }
  await pipeline(createReadStream(file.path, { start, end }), res).catch(() => res.destroy());
}
