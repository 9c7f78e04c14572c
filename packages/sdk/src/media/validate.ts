import { ErrorCode, Limits, ProtocolError } from '@synkey/protocol';
import type { UploadState } from '../store';

const LONE_SURROGATE = /\p{Cs}/u;

/** What `sendImage` accepts besides the file. */
export interface ImageOptions {
  /** Shown under the image; sent as the message text. A blank caption is no caption. */
  caption?: string;
  /** A file name to show; default: the File's own name. */
  name?: string;
}

/**
 * Checks an image before anything is queued: a non-empty Blob of at most `Limits.maxImageBytes`,
 * of an `image/*` type when it has a type at all (the server checks the bytes). Throws INVALID,
 * MEDIA_TOO_LARGE or UNSUPPORTED_MEDIA; returns the upload's starting state and the caption.
 */
export function checkImage(file: unknown, options: ImageOptions = {}): { upload: UploadState; caption?: string } {
  const blob = checkBlob(file, 'image');
  if (blob.size > Limits.maxImageBytes) {
    throw new ProtocolError(ErrorCode.MediaTooLarge, `the image is larger than ${Limits.maxImageBytes} bytes`);
  }
  const mime = checkType(blob, 'image/');
  const upload: UploadState = { mime, size: blob.size };
  const name = fileName(options.name ?? (blob as { name?: unknown }).name);
  if (name) upload.name = name;
  const caption = options.caption;
  if (caption === undefined || caption === null) return { upload };
  if (typeof caption !== 'string') throw invalid('the caption is not a string');
  if (caption.trim() === '') return { upload };
  if (caption.length > Limits.maxText) throw invalid(`the caption is longer than ${Limits.maxText} characters`);
  if (LONE_SURROGATE.test(caption)) throw invalid('the caption has a broken character (a lone UTF-16 surrogate)');
  return { upload, caption };
}

/**
 * Checks a voice note: a non-empty Blob of at most `Limits.maxVoiceBytes`, of an `audio/*` type
 * when it has one, lasting 1 ms to `Limits.maxVoiceMs`. Throws INVALID, MEDIA_TOO_LARGE or
 * UNSUPPORTED_MEDIA; returns the upload's starting state.
 */
export function checkVoice(audio: unknown, durationMs: unknown): UploadState {
  const blob = checkBlob(audio, 'voice note');
  if (blob.size > Limits.maxVoiceBytes) {
    throw new ProtocolError(ErrorCode.MediaTooLarge, `the voice note is larger than ${Limits.maxVoiceBytes} bytes`);
  }
  if (typeof durationMs !== 'number' || !Number.isFinite(durationMs) || durationMs <= 0) {
    throw invalid('the voice note needs its duration in ms');
  }
  const ms = Math.max(1, Math.round(durationMs));
  if (ms > Limits.maxVoiceMs) {
    throw new ProtocolError(ErrorCode.MediaTooLarge, `the voice note is longer than ${Limits.maxVoiceMs} ms`);
  }
  return { mime: checkType(blob, 'audio/'), size: blob.size, durationMs: ms };
}

function checkBlob(value: unknown, what: string): Blob {
  if (typeof Blob === 'undefined' || !(value instanceof Blob)) throw invalid(`the ${what} is not a Blob or File`);
  if (value.size === 0) throw invalid(`the ${what} is empty`);
  return value;
}

/** The Blob's type without parameters other than codecs, checked against `prefix`. */
function checkType(blob: Blob, prefix: string): string {
  const mime = blob.type.trim().toLowerCase();
  if (mime !== '' && !mime.startsWith(prefix)) {
    throw new ProtocolError(ErrorCode.UnsupportedMedia, `a file of type ${mime} is not ${prefix}*`);
  }
  return mime;
}

/** A display name: the last path segment, at most `Limits.maxFileName` units, never split inside a character. */
function fileName(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  let name = value.split(/[\\/]/).pop()?.trim() ?? '';
  if (name.length > Limits.maxFileName) name = name.slice(0, Limits.maxFileName).replace(/\p{Cs}$/u, '');
  return name.replace(/\p{Cs}/gu, '\uFFFD') || undefined;
}

function invalid(message: string): ProtocolError {
  return new ProtocolError(ErrorCode.Invalid, message);
}
