import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode, ProtocolError } from '@synkey/protocol';

/** The HTTP status of each error code the media routes answer with (PROTOCOL.md §13.1). */
export const STATUS: Record<string, number> = {
  [ErrorCode.Invalid]: 400,
  [ErrorCode.Unauthenticated]: 401,
  [ErrorCode.TokenExpired]: 401,
  [ErrorCode.Forbidden]: 404,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.UploadIncomplete]: 409,
  [ErrorCode.MediaTooLarge]: 413,
  [ErrorCode.UnsupportedMedia]: 415,
  [ErrorCode.RateLimited]: 429,
  [ErrorCode.Internal]: 500,
  [ErrorCode.Unavailable]: 503,
};

/** A refusal with extra JSON fields for its body (`have`, `retryMs`). */
export class MediaError extends ProtocolError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(code, message);
  }
}

/** Sends a JSON body. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/**
 * Sends `{ code, message, …extra }` with the status of the code. A request whose body was not read gets
 * `connection: close`, so an unread upload chunk is not drained.
 */
export function sendError(res: ServerResponse, err: ProtocolError, bodyUnread = false): void {
  const extra = err instanceof MediaError ? err.extra : {};
  const headers: Record<string, string> = {};
  if (err.code === ErrorCode.RateLimited && typeof extra.retryMs === 'number') {
    headers['retry-after'] = String(Math.max(1, Math.ceil(extra.retryMs / 1000)));
  }
  if (err.code === ErrorCode.Unauthenticated || err.code === ErrorCode.TokenExpired) {
    headers['www-authenticate'] = `Bearer error="invalid_token"`;
  }
  if (bodyUnread) headers.connection = 'close';
  sendJson(res, STATUS[err.code] ?? 400, { code: err.code, message: err.message, ...extra }, headers);
}

/** The bearer token of a request; UNAUTHENTICATED without one. Tokens are never read from the URL. */
export function bearer(req: IncomingMessage): string {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (!m) throw new ProtocolError(ErrorCode.Unauthenticated, 'an Authorization: Bearer <token> header is required');
  return m[1]!;
}

/**
 * Reads a request body of at most `max` bytes; INVALID (`tooLong`) beyond it. A declared Content-Length
 * over `max` is refused before anything is read.
 */
export function readBody(req: IncomingMessage, max: number, tooLong = `the body is longer than ${max} bytes`) {
  return new Promise<Buffer>((resolve, reject) => {
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > max) {
      reject(new ProtocolError(ErrorCode.Invalid, tooLong));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.off('data', onData);
        req.pause();
        reject(new ProtocolError(ErrorCode.Invalid, tooLong));
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks, size)));
    // A client that hangs up mid-body ('aborted', ECONNRESET) is not a server error.
    req.on('error', () => reject(new ProtocolError(ErrorCode.Invalid, 'the request was aborted')));
    req.on('close', () => {
      if (!req.complete) reject(new ProtocolError(ErrorCode.Invalid, 'the request was aborted'));
    });
  });
}

/** Reads a JSON object body (at most `max` bytes); INVALID when it is not one. */
export async function readJson(req: IncomingMessage, max: number): Promise<Record<string, unknown>> {
  const text = (await readBody(req, max)).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ProtocolError(ErrorCode.Invalid, 'the body is not valid JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ProtocolError(ErrorCode.Invalid, 'the body must be a JSON object');
  }
  return value as Record<string, unknown>;
}
