import { ErrorCode, type Media, ProtocolError } from '@synkey/protocol';
import type { SendPolicy } from '../backoff';
import { ServerError } from '../errors';
import type { OutboxEntry, UploadState } from '../store';
import { heldFraction, missingPieces, pieceCount, pieceRange } from './chunks';
import { sha256Hex } from './hash';
import type { MediaHttp, UploadStatus } from './http';
import { aborted, type Limiter } from './limiter';
import { RetryBudget } from './retry';
import type { TransferHooks } from './transfer';

/** What {@link uploadImage} needs. */
export interface ImageUploadDeps {
  http: MediaHttp;
  /** Caps the chunk PUTs in flight, across every upload of the engine. */
  limiter: Limiter;
  policy: SendPolicy;
  random: () => number;
  /** The chunk size to ask for; the server may set another. */
  chunkSize: number;
  /** Hex SHA-256 of a file; default {@link sha256Hex}. */
  hash?: (file: Blob) => Promise<string>;
}

/** Times an upload may start over (the server lost it, or still missed chunks at completion). */
const MAX_ROUNDS = 4;

function isCode(error: unknown, code: ErrorCode): boolean {
  return error instanceof ServerError && error.code === code;
}

/**
 * Uploads the image of an outbox entry over HTTP (docs/PROTOCOL.md §13.1) and resolves its Media.
 *
 * Hash, then `POST /media/uploads` (a file the server already holds is done at once); then the
 * missing chunks, several in parallel under `deps.limiter`, each retried alone; then `complete`.
 * The upload id is saved with the entry as soon as the server assigns it, so after a reload the
 * upload resumes: `GET` says which chunks the server holds and only the others are sent. An upload
 * the server no longer knows (404) starts over with a new one.
 */
export async function uploadImage(entry: OutboxEntry, hooks: TransferHooks, deps: ImageUploadDeps): Promise<Media> {
  const { file, upload } = entry;
  if (!file || !upload) throw new ProtocolError(ErrorCode.Invalid, 'the message has no file to upload');
  if (upload.media) return upload.media;
  const { http } = deps;
  const { signal } = hooks;
  const budget = new RetryBudget(deps.policy, deps.random, signal);
  let state: UploadState = { ...upload };
  const save = async (next: UploadState) => {
    state = next;
    await hooks.save(next);
    if (signal.aborted) throw aborted(signal);
  };

  if (!state.sha256) await save({ ...state, sha256: await (deps.hash ?? sha256Hex)(file) });
  for (let round = 0; round < MAX_ROUNDS; round++) {
    let status: UploadStatus | undefined;
    if (state.id !== undefined) {
      const id = state.id;
      status = await budget
        .run(() => http.status(id, signal))
        .catch((error: unknown) => {
          if (isCode(error, ErrorCode.NotFound)) return undefined;
          throw error;
        });
    }
    if (!status) {
      const created = await budget.run(() => http.create(createBody(state, deps.chunkSize), signal));
      if ('media' in created) {
        hooks.progress(1);
        return created.media;
      }
      status = created;
      await save({ ...state, id: created.upload, chunkSize: created.chunkSize });
    }
    const outcome = await putMissing(file, status, hooks, deps, budget);
    if (outcome === 'gone') {
      await save(withoutUpload(state));
      continue;
    }
    try {
      const media = await budget.run(() => http.complete(status.upload, signal));
      hooks.progress(1);
      return media;
    } catch (error) {
      if (isCode(error, ErrorCode.NotFound)) await save(withoutUpload(state));
      else if (!isCode(error, ErrorCode.UploadIncomplete)) throw error;
    }
  }
  throw new ProtocolError(ErrorCode.Internal, `the upload did not complete after ${MAX_ROUNDS} rounds`);
}

function createBody(state: UploadState, chunkSize: number) {
  return {
    size: state.size,
    sha256: state.sha256 as string,
    chunkSize,
    ...(state.name ? { name: state.name } : {}),
    ...(state.mime ? { mime: state.mime } : {}),
  };
}

function withoutUpload(state: UploadState): UploadState {
  const { id: _id, chunkSize: _chunkSize, ...rest } = state;
  return rest;
}

/**
 * PUTs the chunks `status` lacks, in parallel; the first one that fails for good stops the others.
 * Resolves `'gone'` when the server no longer knows the upload.
 */
async function putMissing(
  file: Blob,
  status: UploadStatus,
  hooks: TransferHooks,
  deps: ImageUploadDeps,
  budget: RetryBudget,
): Promise<'done' | 'gone'> {
  const { chunkSize, upload } = status;
  const count = pieceCount(file.size, chunkSize);
  if (status.chunks !== count) {
    throw new ProtocolError(ErrorCode.Internal, `the server counts ${status.chunks} chunks, not ${count}`);
  }
  const have = new Set(status.have);
  hooks.progress(heldFraction(file.size, chunkSize, have));
  const stop = new AbortController();
  const quit = () => stop.abort(aborted(hooks.signal));
  hooks.signal.addEventListener('abort', quit, { once: true });
  let failure: unknown;
  try {
    await Promise.allSettled(
      missingPieces(count, have).map(async (index) => {
        const { start, end } = pieceRange(file.size, chunkSize, index);
        try {
          await budget.run(
            () =>
              deps.limiter.run(() => deps.http.put(upload, index, file.slice(start, end), stop.signal), stop.signal),
            stop.signal,
          );
        } catch (error) {
          failure ??= error;
          stop.abort(error);
          return;
        }
        have.add(index);
        hooks.progress(heldFraction(file.size, chunkSize, have));
      }),
    );
  } finally {
    hooks.signal.removeEventListener('abort', quit);
  }
  if (hooks.signal.aborted) throw aborted(hooks.signal);
  if (failure === undefined) return 'done';
  if (isCode(failure, ErrorCode.NotFound)) return 'gone';
  throw failure;
}
