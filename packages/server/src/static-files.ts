import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { CompressedFiles, pickEncoding } from './static-compress';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Serves the files under `root` for GET/HEAD (`/` → `index.html`, `/x` → `x.html` when it exists).
 * Paths that escape `root` are refused. Returns false when no file matches, so other routes can run.
 * Text files go out compressed (brotli or gzip, as the request accepts), compressed once per version.
 */
export function staticFiles(root: string, headers: Record<string, string> = {}) {
  const base = resolve(root);
  const compressed = new CompressedFiles();
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      return false;
    }
    if (path.includes('\0')) return false;
    const candidates = path.endsWith('/') ? [`${path}index.html`] : [path, `${path}.html`];
    for (const c of candidates) {
      const file = resolve(join(base, normalize(c)));
      if (file !== base && !file.startsWith(base + sep)) return false;
      const info = await stat(file).catch(() => null);
      if (!info?.isFile()) continue;
      const hashed = /[.-][A-Za-z0-9_-]{8,}\.(js|css)$/.test(file);
      const modified = info.mtime.toUTCString();
      const since = req.headers['if-modified-since'];
      if (since && !hashed && Date.parse(since) >= Math.floor(info.mtimeMs / 1000) * 1000) {
        res.writeHead(304, { 'last-modified': modified, vary: 'accept-encoding', ...headers });
        res.end();
        return true;
      }
      const encoding = pickEncoding(req.headers['accept-encoding']);
      const body = await compressed.get(file, info.mtimeMs, info.size, encoding);
      res.writeHead(200, {
        'last-modified': modified,
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'content-length': body ? body.length : info.size,
        ...(body ? { 'content-encoding': encoding } : {}),
        vary: 'accept-encoding',
        'cache-control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
        'x-content-type-options': 'nosniff',
        ...headers,
      });
      if (req.method === 'HEAD') res.end();
      else if (body) res.end(body);
      else createReadStream(file).pipe(res);
      return true;
    }
    return false;
  };
}
