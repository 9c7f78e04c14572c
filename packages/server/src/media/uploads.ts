import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ErrorCode, Limits, type Media, ProtocolError } from '@synkey/protocol';
import type { ChatStore, UploadRow } from '../store/types';
import { type MediaFiles, newId } from './files';
import { MediaError, readBody } from './http';
import { processImage } from './image';
import { KeyedLock, Semaphore } from './locks';
import type { MediaOptions } from './options';
import { checkUploadRequest, chunkLength, parseChunkIndex } from './upload-request';

/** What `GET /media/uploads/<upload>` answers (and `POST /media/uploads` when it opens one). */
export interface UploadStatus {
  upload: string;
  chunkSize: number;
  chunks: number;
  have: number[];
  media?: Media;
}

const notFound = (id: string) => new ProtocolError(ErrorCode.NotFound, `upload ${id} does not exist`);

/**
 * Chunked, resumable image uploads (PROTOCOL.md §13.1). Chunks are files; everything that changes an
 * upload (holding a chunk, completing, cancelling, sweeping) runs under the upload's lock, so a complete
 * never sees a chunk half-renamed and a sweep never deletes an upload being completed.
 */
export class ImageUploads {
  private readonly locks = new KeyedLock();
  private readonly jobs: Semaphore;

  constructor(
    private readonly store: ChatStore,
    private readonly files: MediaFiles,
    private readonly opts: MediaOptions,
  ) {
    this.jobs = new Semaphore(opts.imageJobs);
  }

  /**
   * Opens an upload, or answers at once with a new media record when `user` already stored this file. A
   * file only others stored is uploaded like any other: knowing its digest proves nothing.
   */
  create(user: string, body: Record<string, unknown>): { media: Media } | UploadStatus {
    const req = checkUploadRequest(body);
    const reused = this.store.media.reuseImage(user, req.sha256, req.size, newId(), req.name);
    if (reused) return { media: reused };
    const id = newId();
    this.store.media.openUpload({ id, owner: user, ...req }, this.opts.quota);
    return { upload: id, chunkSize: req.chunkSize, chunks: req.chunks, have: [] };
  }

  /** Holds one chunk read from `req`. Idempotent: a chunk held already (or a finished upload) changes nothing. */
  async putChunk(user: string, id: string, segment: string, req: IncomingMessage): Promise<void> {
    const row = this.own(user, id);
    const index = parseChunkIndex(segment, row.chunks);
    const expected = chunkLength(row.size, row.chunk_size, index);
    const declared = req.headers['content-length'];
    const wrongLength = `chunk ${index} must be exactly ${expected} bytes`;
    if (declared !== undefined && Number(declared) !== expected)
      throw new ProtocolError(ErrorCode.Invalid, wrongLength);
    const data = await readBody(req, expected, wrongLength);
    if (data.length !== expected) throw new ProtocolError(ErrorCode.Invalid, wrongLength);
    await this.locks.run(id, async () => {
      const now = this.own(user, id);
      if (now.media_id) return;
      if (await this.files.putChunk(id, index, data)) this.store.media.touchUpload(id);
    });
  }

  /** The upload's chunk size, count, the chunks held, and its media once complete. */
  async status(user: string, id: string): Promise<UploadStatus> {
    const row = this.own(user, id);
    const base = { upload: id, chunkSize: row.chunk_size, chunks: row.chunks };
    if (row.media_id) {
      const media = this.store.media.own(user, row.media_id)!;
      return { ...base, have: Array.from({ length: row.chunks }, (_, i) => i), media };
    }
    return { ...base, have: await this.files.heldChunks(id) };
  }

  /**
   * Joins the chunks, checks the digest and the image, stores it with its thumbnail and returns the
   * media. Missing chunks: UPLOAD_INCOMPLETE with `have`. A digest mismatch (INVALID), a type that is
   * not accepted (UNSUPPORTED_MEDIA) or too many pixels (MEDIA_TOO_LARGE) drop the upload: its bytes
   * can never become valid. Completing again returns the same media.
   */
  complete(user: string, id: string): Promise<Media> {
    this.own(user, id);
    return this.locks.run(id, async () => {
      const row = this.own(user, id);
      if (row.media_id) return this.store.media.own(user, row.media_id)!;
      const have = await this.files.heldChunks(id);
      if (have.length < row.chunks) {
        throw new MediaError(
          ErrorCode.UploadIncomplete,
          `${row.chunks - have.length} of ${row.chunks} chunks missing`,
          {
            have,
          },
        );
      }
      const bytes = await this.files.joinChunks(id, row.chunks);
      const digest = createHash('sha256').update(bytes).digest('hex');
      if (bytes.length !== row.size || digest !== row.sha256) {
        await this.drop(id);
        throw new ProtocolError(ErrorCode.Invalid, `the file's SHA-256 is ${digest}, not the ${row.sha256} declared`);
      }
      let image: Awaited<ReturnType<typeof processImage>>;
      try {
        image = await this.jobs.run(() => processImage(bytes, Limits.maxImagePixels, Limits.thumbSize));
      } catch (e) {
        if (e instanceof ProtocolError) await this.drop(id);
        throw e;
      }
      return this.keep(row, image);
    });
  }

  /** Cancels an upload: its chunks and record go (a finished upload's media stays). */
  async cancel(user: string, id: string): Promise<void> {
    this.own(user, id);
    await this.locks.run(id, () => this.drop(id));
  }

  /** Deletes unfinished uploads idle since before `before`; returns how many. */
  async sweep(before: number): Promise<number> {
    let n = 0;
    for (const id of this.store.media.staleUploads(before)) {
      if (this.locks.busy(id)) continue;
      await this.locks.run(id, async () => {
        const row = this.store.media.upload(id);
        if (!row || row.media_id || row.updated_at >= before) return;
        await this.drop(id);
        n++;
      });
    }
    return n;
  }

  /**
   * Deletes the chunk directories of uploads that are finished or gone (left by a crash or a failed delete
   * between storing an upload's file and deleting its chunks); returns how many.
   */
  async sweepChunks(): Promise<number> {
    let n = 0;
    for (const id of await this.files.chunkDirs()) {
      if (this.locks.busy(id)) continue;
      await this.locks.run(id, async () => {
        if (this.store.media.upload(id)?.media_id === null) return;
        await this.files.dropChunks(id);
        n++;
      });
    }
    return n;
  }

  private async keep(row: UploadRow, image: Awaited<ReturnType<typeof processImage>>): Promise<Media> {
    const file = await this.files.store(image.data);
    const thumb = await this.files.store(image.thumb, true);
    let done: { media: Media; unused: boolean };
    try {
      done = this.store.media.finish(
        {
          sourceSha256: row.sha256,
          sourceSize: row.size,
          file,
          thumb,
          thumbMime: image.thumbMime,
          mime: image.mime,
          size: image.data.length,
          width: image.width,
          height: image.height,
        },
        { id: newId(), owner: row.owner, name: row.name, durationMs: null },
        { upload: row.id },
      );
    } catch (e) {
      await this.files.remove(file, thumb);
      throw e;
    }
    if (done.unused) await this.files.remove(file, thumb);
    // The media is made: chunks that cannot go now are left to sweepChunks.
    await this.files.dropChunks(row.id).catch(() => {});
    return done.media;
  }

  /** Chunks go first: once the record is gone, so are they. */
  private async drop(id: string): Promise<void> {
    await this.files.dropChunks(id);
    this.store.media.dropUpload(id);
  }

  private own(user: string, id: string): UploadRow {
    const row = this.store.media.upload(id);
    if (!row || row.owner !== user) throw notFound(id);
    return row;
  }
}
