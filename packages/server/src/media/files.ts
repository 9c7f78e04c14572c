import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** A server-made upload id: 16 random bytes, base64url. The only kind of upload name used in a path. */
export const UPLOAD_ID = /^[A-Za-z0-9_-]{22}$/;
/** A server-made stored file name: 16 random bytes in hex, `.thumb` for a thumbnail. */
const FILE_NAME = /^[0-9a-f]{32}(\.thumb)?$/;

/** A fresh random id for uploads and media records. */
export function newId(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * The media directory on disk. Every name in a path is made by the server (client names are display
 * text only), and every file appears by rename of a complete, fsynced temp file, so a reader never sees
 * a half-written one.
 *
 * ```
 * <dir>/tmp/<random>                 files being written
 * <dir>/uploads/<upload>/<index>     image chunks held
 * <dir>/files/<ab>/<abcd…>[.thumb]   stored files and thumbnails
 * ```
 */
export class MediaFiles {
  private readonly tmp: string;
  private readonly uploads: string;
  private readonly files: string;

  constructor(readonly dir: string) {
    this.tmp = join(dir, 'tmp');
    this.uploads = join(dir, 'uploads');
    this.files = join(dir, 'files');
    rmSync(this.tmp, { recursive: true, force: true });
    for (const d of [this.tmp, this.uploads, this.files]) mkdirSync(d, { recursive: true });
  }

  /** Path of stored file `name` (throws for a name the server did not make). */
  path(name: string): string {
    if (!FILE_NAME.test(name)) throw new Error(`not a stored file name: ${name}`);
    return join(this.files, name.slice(0, 2), name);
  }

  private chunkDir(upload: string): string {
    if (!UPLOAD_ID.test(upload)) throw new Error(`not an upload id: ${upload}`);
    return join(this.uploads, upload);
  }

  private tmpPath(): string {
    return join(this.tmp, randomBytes(12).toString('hex'));
  }

  private async writeTmp(data: Uint8Array): Promise<string> {
    const tmp = this.tmpPath();
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    return tmp;
  }

  /** Holds chunk `index` of `upload` unless it is held already; returns whether it wrote. */
  async putChunk(upload: string, index: number, data: Uint8Array): Promise<boolean> {
    const dir = this.chunkDir(upload);
    const target = join(dir, String(index));
    if (await stat(target).catch(() => null)) return false;
    const tmp = await this.writeTmp(data);
    try {
      await mkdir(dir, { recursive: true });
      await rename(tmp, target);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    return true;
  }

  /** The chunk indexes of `upload` held on disk, ascending. */
  async heldChunks(upload: string): Promise<number[]> {
    const names = await readdir(this.chunkDir(upload)).catch(() => [] as string[]);
    return names
      .filter((n) => /^(0|[1-9]\d*)$/.test(n))
      .map(Number)
      .sort((a, b) => a - b);
  }

  /** Chunks 0…count-1 of `upload`, joined in index order. */
  async joinChunks(upload: string, count: number): Promise<Buffer> {
    const dir = this.chunkDir(upload);
    const parts: Buffer[] = [];
    for (let i = 0; i < count; i++) parts.push(await readFile(join(dir, String(i))));
    return Buffer.concat(parts);
  }

  /** Deletes every chunk of `upload`. */
  async dropChunks(upload: string): Promise<void> {
    await rm(this.chunkDir(upload), { recursive: true, force: true });
  }

  /** The uploads that have a chunk directory. */
  async chunkDirs(): Promise<string[]> {
    return (await readdir(this.uploads)).filter((name) => UPLOAD_ID.test(name));
  }

  /** Stores `data` under a new name (with `.thumb` when `thumb`); returns the name. */
  async store(data: Uint8Array, thumb = false): Promise<string> {
    const name = randomBytes(16).toString('hex') + (thumb ? '.thumb' : '');
    const target = this.path(name);
    const tmp = await this.writeTmp(data);
    try {
      await mkdir(join(this.files, name.slice(0, 2)), { recursive: true });
      await rename(tmp, target);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    return name;
  }

  /** {@link store}, synchronously (voice notes are joined inside one request handler turn). */
  storeSync(data: Uint8Array): string {
    const name = randomBytes(16).toString('hex');
    const target = this.path(name);
    const tmp = this.tmpPath();
    const fd = openSync(tmp, 'wx');
    try {
      let off = 0;
      while (off < data.length) off += writeSync(fd, data, off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      mkdirSync(join(this.files, name.slice(0, 2)), { recursive: true });
      renameSync(tmp, target);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
    return name;
  }

  /** Deletes stored files by name (missing ones are fine). */
  async remove(...names: (string | null)[]): Promise<void> {
    for (const n of names) if (n) await rm(this.path(n), { force: true });
  }

  /** {@link remove}, synchronously. */
  removeSync(...names: (string | null)[]): void {
    for (const n of names) if (n) rmSync(this.path(n), { force: true });
  }

  /**
   * Deletes stored files the database does not know (left by a crash between writing a file and
   * committing its row, or between deleting a row and its files) and chunk directories of anything but an
   * unfinished upload (left by a crash between storing an upload's file and deleting its chunks). Returns
   * how many went.
   */
  async dropOrphans(known: Set<string>, isOpenUpload: (id: string) => boolean): Promise<number> {
    let n = 0;
    for (const shard of await readdir(this.files)) {
      for (const name of await readdir(join(this.files, shard)).catch(() => [] as string[])) {
        if (known.has(name)) continue;
        await rm(join(this.files, shard, name), { force: true, recursive: true });
        n++;
      }
    }
    for (const upload of await readdir(this.uploads)) {
      if (UPLOAD_ID.test(upload) && isOpenUpload(upload)) continue;
      await rm(join(this.uploads, upload), { force: true, recursive: true });
      n++;
    }
    return n;
  }
}
