import { ErrorCode, type Media, ProtocolError } from '@synkey/protocol';
import { describe, linkDown, ServerError } from '../errors';
import { aborted } from './limiter';

/** The response of a {@link MediaFetch}: the part of `Response` the media client reads. */
export interface MediaResponse {
  readonly ok: boolean;
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  json(): Promise<unknown>;
  blob(): Promise<Blob>;
}

/** The part of `fetch` the media client uses; the global `fetch` fits (browsers, workers, Node). */
export type MediaFetch = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: Blob | string; signal?: AbortSignal },
) => Promise<MediaResponse>;

/** An image upload as the server describes it (`POST /media/uploads`, `GET /media/uploads/<id>`). */
export interface UploadStatus {
  upload: string;
  chunkSize: number;
  chunks: number;
  /** The chunk indexes the server holds. */
  have: number[];
}

/** What `POST /media/uploads` takes. */
export interface CreateUpload {
  size: number;
  /** Hex SHA-256 of the whole file. */
  sha256: string;
  name?: string;
  mime?: string;
  chunkSize?: number;
}

/** What {@link MediaHttp} needs. */
export interface MediaHttpOptions {
  /** The media API's base URL, e.g. `https://chat.example.com/media`. */
  base: string;
  fetch: MediaFetch;
  /** The current token; given the token a request was refused with, a new one. */
  token(refused?: string): Promise<string>;
  /** A request with no response after `timeoutMs + bytes / minBytesPerMs` is aborted as TIMEOUT. */
  timeoutMs: number;
}

/** The slowest upload speed waited for before a request counts as stalled: 16 KB/s. */
const MIN_BYTES_PER_MS = 16;

/**
 * The client of the media HTTP API (docs/PROTOCOL.md §13.1). Every request carries
 * `Authorization: Bearer <token>`; a 401 fetches a new token and tries once more. Failures reject
 * with a {@link ServerError} carrying the server's code (and `retryMs` from `Retry-After`), or with
 * UNAVAILABLE when the network failed and TIMEOUT when no response came in time.
 */
export class MediaHttp {
  constructor(private readonly options: MediaHttpOptions) {}

  /** Starts an upload; the server answers `{ media }` at once when it already holds the file. */
  async create(body: CreateUpload, signal?: AbortSignal): Promise<{ media: Media } | UploadStatus> {
    const reply = await this.json('POST', '/uploads', JSON.stringify(body), signal);
    return isRecord(reply) && 'media' in reply ? { media: parseMedia(reply.media) } : parseStatus(reply);
  }

  /** Which chunks the server holds. NOT_FOUND when the upload is gone (cancelled, expired, completed elsewhere). */
  async status(upload: string, signal?: AbortSignal): Promise<UploadStatus> {
    return parseStatus(await this.json('GET', `/uploads/${encodeURIComponent(upload)}`, undefined, signal));
  }

  /** Stores one chunk; idempotent. */
  async put(upload: string, index: number, data: Blob, signal?: AbortSignal): Promise<void> {
    await this.send('PUT', `/uploads/${encodeURIComponent(upload)}/${index}`, data, signal);
  }

  /** Assembles the file: its Media, or UPLOAD_INCOMPLETE while chunks are missing. Idempotent. */
  async complete(upload: string, signal?: AbortSignal): Promise<Media> {
    const reply = await this.json('POST', `/uploads/${encodeURIComponent(upload)}/complete`, undefined, signal);
    return parseMedia(isRecord(reply) ? reply.media : undefined);
  }

  /** Drops an upload on the server. */
  async cancel(upload: string, signal?: AbortSignal): Promise<void> {
    await this.send('DELETE', `/uploads/${encodeURIComponent(upload)}`, undefined, signal);
  }

  /** A stored file, or an image's thumbnail. NOT_FOUND when it does not exist or is not the user's to read. */
  async file(id: string, variant: 'full' | 'thumb' = 'full', signal?: AbortSignal): Promise<Blob> {
    const path = `/${encodeURIComponent(id)}${variant === 'thumb' ? '/thumb' : ''}`;
    return (await this.send('GET', path, undefined, signal)).blob();
  }

  private async json(method: string, path: string, body?: string, signal?: AbortSignal): Promise<unknown> {
    const response = await this.send(method, path, body, signal);
    try {
      return await response.json();
    } catch (error) {
      throw new ProtocolError(ErrorCode.Internal, `${method} ${path} answered with no JSON (${describe(error)})`);
    }
  }

  private async send(method: string, path: string, body?: Blob | string, signal?: AbortSignal): Promise<MediaResponse> {
    const token = await this.options.token();
    const first = await this.attempt(method, path, token, body, signal);
    if (first.status !== 401) return checked(first, method, path);
    const fresh = await this.options.token(token);
    return checked(await this.attempt(method, path, fresh, body, signal), method, path);
  }

  private async attempt(
    method: string,
    path: string,
    token: string,
    body: Blob | string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<MediaResponse> {
    if (signal?.aborted) throw aborted(signal);
    const bytes = typeof body === 'string' ? body.length : (body?.size ?? 0);
    const timeoutMs = this.options.timeoutMs + bytes / MIN_BYTES_PER_MS;
    const controller = new AbortController();
    const cancel = () => controller.abort();
    signal?.addEventListener('abort', cancel, { once: true });
    const timer = setTimeout(cancel, timeoutMs);
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (typeof body === 'string') headers['content-type'] = 'application/json';
    else if (body) headers['content-type'] = 'application/octet-stream';
    try {
      return await this.options.fetch(`${this.options.base}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
        signal: controller.signal,
      });
    } catch (error) {
      if (signal?.aborted) throw aborted(signal);
      if (controller.signal.aborted) {
        throw new ProtocolError(
          ErrorCode.Timeout,
          `${method} ${path} got no response within ${Math.round(timeoutMs)} ms`,
        );
      }
      throw linkDown(`${method} ${path} failed: ${describe(error)}`, error);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', cancel);
    }
  }
}

/** The error code of an HTTP status whose body says none. */
function statusCode(status: number): ErrorCode {
  switch (status) {
    case 400:
      return ErrorCode.Invalid;
    case 401:
      return ErrorCode.Unauthenticated;
    case 403:
      return ErrorCode.Forbidden;
    case 404:
      return ErrorCode.NotFound;
    case 409:
      return ErrorCode.UploadIncomplete;
    case 413:
      return ErrorCode.MediaTooLarge;
    case 415:
      return ErrorCode.UnsupportedMedia;
    case 429:
      return ErrorCode.RateLimited;
    case 502:
    case 503:
    case 504:
      return ErrorCode.Unavailable;
    default:
      return ErrorCode.Internal;
  }
}

/** The response when it is a success; otherwise the server's error as a {@link ServerError}. */
async function checked(response: MediaResponse, method: string, path: string): Promise<MediaResponse> {
  if (response.ok) return response;
  let code: string = statusCode(response.status);
  let message = `${method} ${path} answered HTTP ${response.status}`;
  try {
    const body = await response.json();
    if (isRecord(body) && typeof body.code === 'string') code = body.code;
    if (isRecord(body) && typeof body.message === 'string') message = body.message;
  } catch {
    // No JSON body: the status says it.
  }
  const retryAfter = Number(response.headers.get('retry-after'));
  const error: { code: string; message: string; retryMs?: number } = { code, message };
  if (retryAfter > 0) error.retryMs = retryAfter * 1000;
  return Promise.reject(new ServerError(error));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unexpected(what: string): ProtocolError {
  return new ProtocolError(ErrorCode.Internal, `the server answered with an unexpected ${what}`);
}

const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** A Media record from JSON, checked field by field. */
export function parseMedia(value: unknown): Media {
  if (!isRecord(value) || typeof value.id !== 'string' || typeof value.mime !== 'string' || !isUint(value.size)) {
    throw unexpected('media record');
  }
  const media: Media = { id: value.id, mime: value.mime, size: value.size };
  if (isUint(value.width)) media.width = value.width;
  if (isUint(value.height)) media.height = value.height;
  if (isUint(value.durationMs)) media.durationMs = value.durationMs;
  if (typeof value.name === 'string') media.name = value.name;
  return media;
}

function parseStatus(value: unknown): UploadStatus {
  if (
    !isRecord(value) ||
    (typeof value.upload !== 'string' && !isUint(value.upload)) ||
    !isUint(value.chunkSize) ||
    value.chunkSize === 0 ||
    !isUint(value.chunks) ||
    !Array.isArray(value.have) ||
    !value.have.every(isUint)
  ) {
    throw unexpected('upload status');
  }
  return { upload: String(value.upload), chunkSize: value.chunkSize, chunks: value.chunks, have: value.have };
}
