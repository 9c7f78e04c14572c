import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode, ProtocolError } from '@synkey/protocol';
import { verifyToken } from '../auth';
import type { ChatStore } from '../store/types';
import { type MediaFiles, UPLOAD_ID } from './files';
import { bearer, MediaError, readJson, sendError, sendJson } from './http';
import { serveFile } from './serve';
import type { ImageUploads } from './uploads';
import type { UserBuckets } from './user-buckets';

/** What the media routes need. */
export interface MediaRouteDeps {
  store: ChatStore;
  files: MediaFiles;
  uploads: ImageUploads;
  buckets: UserBuckets;
  secret: Uint8Array;
  cacheMaxAgeS: number;
  log: (msg: string, err?: unknown) => void;
  /** Throws to refuse a user (dev mode's offline switch), as the links do. */
  admit?: (user: string) => void;
}

const MAX_JSON = 4096;

const methodNotAllowed = () => new ProtocolError(ErrorCode.Invalid, 'method not allowed');

/**
 * The HTTP media API under `/media` (PROTOCOL.md §13.1): chunked image uploads and serving files to the
 * users allowed to read them. Every request carries `Authorization: Bearer <token>` and is metered per
 * user; errors are `{ code, message }` JSON with the status of the code. Returns false for other paths.
 */
export function mediaRoutes(deps: MediaRouteDeps) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path !== '/media' && !path.startsWith('/media/')) return false;
    try {
      const user = (await verifyToken(deps.secret, bearer(req))).user;
      deps.admit?.(user);
      const retryMs = deps.buckets.take(user, Date.now());
      if (retryMs > 0) throw new MediaError(ErrorCode.RateLimited, 'too many media requests', { retryMs });
      await route(deps, user, path.split('/').slice(2), req, res);
    } catch (e) {
      if (!(e instanceof ProtocolError)) deps.log('media request failed', e);
      const err = e instanceof ProtocolError ? e : new ProtocolError(ErrorCode.Internal, 'internal error');
      if (res.headersSent) res.destroy();
      else sendError(res, err, !req.complete);
    }
    return true;
  };
}

async function route(
  deps: MediaRouteDeps,
  user: string,
  parts: string[],
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const method = req.method ?? 'GET';
  const { uploads } = deps;
  if (parts[0] === 'uploads') {
    const [, id, action] = parts;
    if (id === undefined) {
      if (method !== 'POST') throw methodNotAllowed();
      const created = uploads.create(user, await readJson(req, MAX_JSON));
      sendJson(res, 'media' in created ? 200 : 201, created);
      return;
    }
    if (!UPLOAD_ID.test(id) || parts.length > 3) throw new ProtocolError(ErrorCode.NotFound, 'no such upload');
    if (action === undefined) {
      if (method === 'GET') sendJson(res, 200, await uploads.status(user, id));
      else if (method === 'DELETE') {
        await uploads.cancel(user, id);
        res.writeHead(204).end();
      } else throw methodNotAllowed();
    } else if (action === 'complete') {
      if (method !== 'POST') throw methodNotAllowed();
      sendJson(res, 200, { media: await uploads.complete(user, id) });
    } else {
      if (method !== 'PUT') throw methodNotAllowed();
      await uploads.putChunk(user, id, action, req);
      res.writeHead(204).end();
    }
    return;
  }
  const [id, variant] = parts;
  if (!id || parts.length > 2 || (variant !== undefined && variant !== 'thumb')) {
    throw new ProtocolError(ErrorCode.NotFound, 'not found');
  }
  if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed();
  const media = deps.store.media.servedTo(user, id);
  const name = variant === 'thumb' ? media?.thumb : media?.file;
  if (!media || !name) throw new ProtocolError(ErrorCode.NotFound, `media ${id} does not exist`);
  await serveFile(req, res, {
    path: deps.files.path(name),
    mime: variant === 'thumb' ? (media.thumbMime ?? 'application/octet-stream') : media.mime,
    etag: `"${name}"`,
    maxAgeS: deps.cacheMaxAgeS,
  });
}
