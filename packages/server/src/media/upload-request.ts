import { ErrorCode, Limits, ProtocolError } from '@synkey/protocol';

/** The smallest chunk size a client may pick (a smaller file is simply one chunk). */
export const MIN_CHUNK = 64 * 1024;

/** A validated `POST /media/uploads` body. */
export interface UploadRequest {
  size: number;
  sha256: string;
  name: string | null;
  chunkSize: number;
  chunks: number;
}

const invalid = (message: string) => new ProtocolError(ErrorCode.Invalid, message);
const ACCEPTED_DECLARED = /^image\//i;
/** Lone surrogates cannot be written as UTF-8 (msgpack); control characters have no place in a file name. */
const BAD_NAME = /[\p{Cs}\p{Cc}]/u;

/**
 * Checks the body of `POST /media/uploads`: `size` 1…`maxBytes` (over it: MEDIA_TOO_LARGE), `sha256` 64 hex
 * digits, an optional display `name` (≤ `Limits.maxFileName` units, no control characters; path parts are
 * cut off), an optional `chunkSize` of {@link MIN_CHUNK}…`Limits.maxImageChunk` (default `Limits.imageChunk`).
 * A declared `mime` is only a hint: one that is not `image/*` is refused early (UNSUPPORTED_MEDIA); the
 * bytes decide the real type on complete.
 */
export function checkUploadRequest(body: Record<string, unknown>, maxBytes: number = Limits.maxImageBytes) {
  const { size, sha256, name, mime, chunkSize } = body;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 1) {
    throw invalid('size must be a positive integer');
  }
  if (size > maxBytes) {
    throw new ProtocolError(ErrorCode.MediaTooLarge, `the file is ${size} bytes, over the limit of ${maxBytes}`);
  }
  if (typeof sha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(sha256)) {
    throw invalid('sha256 must be the hex SHA-256 digest of the file');
  }
  if (mime !== undefined && mime !== null && mime !== '') {
    if (typeof mime !== 'string') throw invalid('mime must be a string');
    if (!ACCEPTED_DECLARED.test(mime)) {
      throw new ProtocolError(ErrorCode.UnsupportedMedia, `${mime.slice(0, 100)} is not an image type`);
    }
  }
  let displayName: string | null = null;
  if (name !== undefined && name !== null) {
    if (typeof name !== 'string') throw invalid('name must be a string');
    if (name.length > Limits.maxFileName) throw invalid(`name is longer than ${Limits.maxFileName} characters`);
    if (BAD_NAME.test(name)) throw invalid('name has control characters or a lone surrogate');
    const base = name.split(/[/\\]/).pop()!.trim();
    displayName = base.length > 0 ? base : null;
  }
  let chunk: number = Limits.imageChunk;
  if (chunkSize !== undefined && chunkSize !== null) {
    if (
      typeof chunkSize !== 'number' ||
      !Number.isSafeInteger(chunkSize) ||
      chunkSize < MIN_CHUNK ||
      chunkSize > Limits.maxImageChunk
    ) {
      throw invalid(`chunkSize must be an integer of ${MIN_CHUNK}…${Limits.maxImageChunk}`);
    }
    chunk = chunkSize;
  }
  return {
    size,
    sha256: sha256.toLowerCase(),
    name: displayName,
    chunkSize: chunk,
    chunks: Math.ceil(size / chunk),
  } satisfies UploadRequest;
}

/** Bytes chunk `index` of an upload must have: `chunkSize`, except the last one (the rest). */
export function chunkLength(size: number, chunkSize: number, index: number): number {
  return Math.min(chunkSize, size - index * chunkSize);
}

/** A chunk index from a URL segment, or INVALID when it is not one of 0…chunks-1. */
export function parseChunkIndex(segment: string, chunks: number): number {
  if (!/^(0|[1-9]\d{0,9})$/.test(segment) || Number(segment) >= chunks) {
    throw invalid(`chunk index must be an integer of 0…${chunks - 1}`);
  }
  return Number(segment);
}
