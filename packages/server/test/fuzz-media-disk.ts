// The media directory after a fuzz run, checked against the database: no temp file left, every chunk
// file belongs to an open upload and has its chunk's exact length, every stored file and thumbnail is
// one the database names (and the file has the size it records), and every file it names exists.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/** What is on disk, and what is wrong with it. */
export interface DiskReport {
  files: number;
  thumbs: number;
  openUploads: number;
  chunkFiles: number;
  tmp: number;
  /** Every path with its size, sorted: compared before and after a restart. */
  listing: string[];
  problems: string[];
}

const list = (dir: string) => {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
};

/** Checks `mediaDir` against the database at `dbPath` (the server must be stopped). */
export function checkMediaDir(mediaDir: string, dbPath: string): DiskReport {
  const problems: string[] = [];
  const listing: string[] = [];
  const db = new Database(dbPath, { readonly: true });
  const uploads = new Map(
    (
      db.prepare('SELECT id, size, chunk_size, chunks, media_id FROM uploads').all() as {
        id: string;
        size: number;
        chunk_size: number;
        chunks: number;
        media_id: string | null;
      }[]
    ).map((u) => [u.id, u]),
  );
  const stored = new Map<string, { size?: number }>();
  for (const f of db.prepare('SELECT file, thumb, size FROM media_files').all() as {
    file: string;
    thumb: string | null;
    size: number;
  }[]) {
    stored.set(f.file, { size: f.size });
    if (f.thumb) stored.set(f.thumb, {});
  }
  const orphanMedia = db
    .prepare('SELECT COUNT(*) FROM media md LEFT JOIN media_files f ON f.id = md.file_id WHERE f.id IS NULL')
    .pluck()
    .get() as number;
  const partsOfDone = db
    .prepare(
      `SELECT COUNT(*) FROM voice_parts p JOIN voice_uploads v ON v.owner = p.owner AND v.upload = p.upload
       WHERE v.media_id IS NOT NULL`,
    )
    .pluck()
    .get() as number;
  const strayParts = db
    .prepare(
      `SELECT COUNT(*) FROM voice_parts p LEFT JOIN voice_uploads v ON v.owner = p.owner AND v.upload = p.upload
       WHERE v.upload IS NULL`,
    )
    .pluck()
    .get() as number;
  db.close();
  if (orphanMedia > 0) problems.push(`${orphanMedia} media records point at no stored file`);
  if (partsOfDone > 0) problems.push(`${partsOfDone} voice parts kept for notes already stored`);
  if (strayParts > 0) problems.push(`${strayParts} voice parts of no voice upload`);

  const report: DiskReport = { files: 0, thumbs: 0, openUploads: 0, chunkFiles: 0, tmp: 0, listing, problems };
  for (const name of list(mediaDir))
    if (!['tmp', 'uploads', 'files'].includes(name)) problems.push(`unexpected entry ${name} in the media directory`);

  for (const name of list(join(mediaDir, 'tmp'))) {
    report.tmp++;
    problems.push(`temp file left: tmp/${name}`);
  }

  for (const id of list(join(mediaDir, 'uploads'))) {
    const u = uploads.get(id);
    const dir = join(mediaDir, 'uploads', id);
    const chunks = list(dir);
    if (!u) problems.push(`chunks of an upload the database does not know: uploads/${id} (${chunks.length} files)`);
    else if (u.media_id) problems.push(`chunks kept after the upload completed: uploads/${id}`);
    else report.openUploads++;
    for (const c of chunks) {
      const size = statSync(join(dir, c)).size;
      listing.push(`uploads/${id}/${c} ${size}`);
      report.chunkFiles++;
      if (!u) continue;
      const index = /^(0|[1-9]\d*)$/.test(c) ? Number(c) : -1;
      if (index < 0 || index >= u.chunks) problems.push(`uploads/${id}/${c}: not a chunk of an upload of ${u.chunks}`);
      else {
        const want = Math.min(u.chunk_size, u.size - index * u.chunk_size);
        if (size !== want) problems.push(`uploads/${id}/${c}: ${size} bytes, a half-written chunk (expected ${want})`);
      }
    }
  }

  const seen = new Set<string>();
  for (const shard of list(join(mediaDir, 'files'))) {
    for (const name of list(join(mediaDir, 'files', shard))) {
      const size = statSync(join(mediaDir, 'files', shard, name)).size;
      listing.push(`files/${shard}/${name} ${size}`);
      seen.add(name);
      const row = stored.get(name);
      if (name.endsWith('.thumb')) report.thumbs++;
      else report.files++;
      if (!row) problems.push(`files/${shard}/${name}: a stored file the database does not know`);
      else if (row.size !== undefined && row.size !== size)
        problems.push(`files/${shard}/${name}: ${size} bytes, the database says ${row.size}`);
      if (!name.startsWith(shard)) problems.push(`files/${shard}/${name}: in the wrong shard`);
      if (size === 0) problems.push(`files/${shard}/${name}: empty`);
    }
  }
  for (const name of stored.keys())
    if (!seen.has(name)) problems.push(`the database names ${name}, which is not on disk`);
  return report;
}
