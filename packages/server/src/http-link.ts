import type { IncomingMessage, ServerResponse } from 'node:http';
import { concatFrames, decodeFrames, ErrorCode, type FrameLimits, ProtocolError } from '@synkey/protocol';
import type { CommitGroup } from './commit-group';
import { type Dispatcher, errorFrame, inbound } from './dispatcher';

/** What the short link needs from the server. */
export interface ShortLinkDeps {
  dispatcher: Dispatcher;
  group: CommitGroup;
  limits: FrameLimits;
  log: (msg: string, err?: unknown) => void;
}

const STATUS: Record<string, number> = {
  [ErrorCode.FrameTooLarge]: 413,
  [ErrorCode.Unauthenticated]: 401,
  [ErrorCode.TokenExpired]: 401,
  [ErrorCode.RateLimited]: 429,
  [ErrorCode.Internal]: 500,
};

/** Reads a request body of at most `max` bytes; throws FRAME_TOO_LARGE beyond it. */
function readBody(req: IncomingMessage, max: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > max) {
      reject(new ProtocolError(ErrorCode.FrameTooLarge, `body of ${declared} bytes exceeds ${max}`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        reject(new ProtocolError(ErrorCode.FrameTooLarge, `body exceeds ${max} bytes`));
        req.removeAllListeners('data');
        req.pause();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      const buf = Buffer.concat(chunks);
      resolve(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength));
    });
    // A client that hangs up mid-body ('aborted', ECONNRESET) is not a server error.
    req.on('error', () => reject(new ProtocolError(ErrorCode.BadFrame, 'the request was aborted')));
  });
}

function send(res: ServerResponse, status: number, body: Uint8Array, retryMs?: number): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, {
    'content-type': 'application/octet-stream',
    'content-length': body.length,
    ...(status === 413 ? { connection: 'close' } : {}),
    ...(retryMs === undefined ? {} : { 'retry-after': String(Math.max(1, Math.ceil(retryMs / 1000))) }),
  });
  res.end(body);
}

/**
 * The HTTP short link: `POST /link` whose body is frames, the first of them AUTH; the response
 * body is the AUTH_OK followed by each request's reply, in order, sent once the requests' effects
 * have committed. A POLL holds the response until the timeline grows or its wait runs out. Same
 * dispatcher as the long link. A body whose every request was refused for rate gets 429 with
 * Retry-After and one fatal RATE_LIMITED instead (nothing of it was processed).
 */
export async function handleShortLink(deps: ShortLinkDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { dispatcher, group, limits } = deps;
  const abort = new AbortController();
  res.on('close', () => abort.abort());
  try {
    const frames = decodeFrames(await readBody(req, limits.maxFrame), limits);
    const [first, ...rest] = frames;
    if (!first) throw new ProtocolError(ErrorCode.BadFrame, 'empty request');
    const { session, reply } = await dispatcher.authenticate(first);
    const into = inbound();
    const replies = await group.run(() => rest.map((f) => dispatcher.handle(session, f, into, abort.signal)));
    if (rest.length > 0 && into.rateLimited === rest.length) {
      const error = errorFrame(0, ErrorCode.RateLimited, 'too many requests', { retryMs: into.retryMs, fatal: true });
      send(res, 429, error, into.retryMs);
      return;
    }
    const out = [reply];
    for (const r of await Promise.all(replies)) if (r) out.push(r);
    send(res, 200, concatFrames(out));
  } catch (e) {
    if (!(e instanceof ProtocolError)) deps.log('short link failed', e);
    const err = e instanceof ProtocolError ? e : new ProtocolError(ErrorCode.Internal, 'internal error');
    send(res, STATUS[err.code] ?? 400, errorFrame(0, err.code, err.message, { fatal: true }));
  }
}
