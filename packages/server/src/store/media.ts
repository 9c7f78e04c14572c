import { ErrorCode, type Media, MsgKind, ProtocolError } from '@synkey/protocol';
import type Database from 'better-sqlite3';
import { toMedia } from './rows';
import type {
  MediaKey,
  MediaQuota,
  NewUpload,
  ServedMedia,
  StoredFile,
  UnsentPage,
  UploadRow,
  VoicePart,
  VoicePartResult,
} from './types';

interface MediaJoinRow {
  id: string;
  owner: string;
  mime: string;
  size: number;
  width: number | null;
  height: number | null;
  duration_ms: number | null;
  name: string | null;
}

interface VoiceRow {
  last_index: number | null;
  duration_ms: number | null;
  bytes: number;
  media_id: string | null;
}

const MEDIA_SELECT = `SELECT md.id, md.owner, f.mime, f.size, f.width, f.height, md.duration_ms, md.name
  FROM media md JOIN media_files f ON f.id = md.file_id`;

/** Media rows: stored files, users' media records, image uploads, voice parts, and who may read what. */
export class MediaRows {
  private readonly mediaById: Database.Statement<[string], MediaJoinRow>;
  private readonly fileBySha: Database.Statement<[string], { id: number; source_size: number; mime: string }>;
  private readonly ownFileBySha: Database.Statement<
    [string, string],
    { id: number; source_size: number; mime: string }
  >;
  private readonly insertFile: Database.Statement<[StoredFile & { now: number }], number>;
  private readonly insertMedia: Database.Statement<[string, number, string, string | null, number | null, number]>;
  private readonly linkConv: Database.Statement<[string, number]>;
  private readonly served: Database.Statement<[{ id: string; viewer: string }], ServedMedia>;
  private readonly uploadById: Database.Statement<[string], UploadRow>;
  private readonly openUploads: Database.Statement<[string], { n: number; bytes: number | null }>;
  private readonly bytesSince: Database.Statement<[string, number], number | null>;
  private readonly insertUpload: Database.Statement<[NewUpload & { now: number }]>;
  private readonly touch: Database.Statement<[number, string]>;
  private readonly deleteUpload: Database.Statement<[string]>;
  private readonly setUploadMedia: Database.Statement<[string, number, string]>;
  private readonly staleUploadIds: Database.Statement<[number], string>;
  private readonly deleteFinishedBefore: Database.Statement<[number]>;
  private readonly voiceRow: Database.Statement<[string, string], VoiceRow>;
  private readonly openVoice: Database.Statement<[string], number>;
  private readonly insertVoice: Database.Statement<[{ owner: string; upload: string; now: number }]>;
  private readonly hasPart: Database.Statement<[string, string, number], number>;
  private readonly insertPart: Database.Statement<[string, string, number, Uint8Array]>;
  private readonly partAfter: Database.Statement<[string, string, number], number>;
  private readonly partCount: Database.Statement<[string, string], number>;
  private readonly updateVoice: Database.Statement<[VoiceUpdate]>;
  private readonly parts: Database.Statement<[string, string], Buffer>;
  private readonly deleteParts: Database.Statement<[string, string]>;
  private readonly deleteVoice: Database.Statement<[string, string]>;
  private readonly setVoiceMedia: Database.Statement<[string, number, string, string]>;
  private readonly staleVoice: Database.Statement<[number], { owner: string; upload: string }>;
  private readonly deleteVoiceFinishedBefore: Database.Statement<[number]>;
  private readonly fileNames: Database.Statement<[], { file: string; thumb: string | null }>;
  private readonly agedMedia: Database.Statement<[AgedQuery], AgedRow>;
  private readonly deleteUploadsOf: Database.Statement<[string]>;
  private readonly deleteVoiceOf: Database.Statement<[string]>;
  private readonly deleteMedia: Database.Statement<[string]>;
  private readonly fileUsed: Database.Statement<[number], number>;
  private readonly deleteFile: Database.Statement<[number], { file: string; thumb: string | null }>;

  constructor(db: Database.Database) {
    this.mediaById = db.prepare(`${MEDIA_SELECT} WHERE md.id = ?`);
    this.fileBySha = db.prepare('SELECT id, source_size, mime FROM media_files WHERE source_sha256 = ?');
    this.ownFileBySha = db.prepare(
      `SELECT f.id, f.source_size, f.mime FROM media_files f
       WHERE f.source_sha256 = ? AND EXISTS (SELECT 1 FROM media md WHERE md.file_id = f.id AND md.owner = ?)`,
    );
    this.insertFile = db
      .prepare<[StoredFile & { now: number }], number>(
        `INSERT INTO media_files (source_sha256, source_size, file, thumb, thumb_mime, mime, size, width, height, created_at)
         VALUES (@sourceSha256, @sourceSize, @file, @thumb, @thumbMime, @mime, @size, @width, @height, @now)
         RETURNING id`,
      )
      .pluck();
    this.insertMedia = db.prepare(
      'INSERT INTO media (id, file_id, owner, name, duration_ms, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.linkConv = db.prepare('INSERT OR IGNORE INTO media_convs (media_id, conv_id) VALUES (?, ?)');
    this.served = db.prepare<[{ id: string; viewer: string }], ServedMedia>(
      `SELECT f.file, f.thumb, f.thumb_mime AS thumbMime, f.mime, f.size
       FROM media md JOIN media_files f ON f.id = md.file_id
       WHERE md.id = @id AND (md.owner = @viewer OR EXISTS (
         SELECT 1 FROM media_convs mc JOIN members m ON m.conv_id = mc.conv_id
         WHERE mc.media_id = md.id AND m.user_id = @viewer))`,
    );
    this.uploadById = db.prepare('SELECT * FROM uploads WHERE id = ?');
    this.openUploads = db.prepare(
      'SELECT COUNT(*) AS n, SUM(size) AS bytes FROM uploads WHERE owner = ? AND media_id IS NULL',
    );
    this.bytesSince = db
      .prepare<[string, number], number | null>('SELECT SUM(size) FROM uploads WHERE owner = ? AND created_at > ?')
      .pluck();
    this.insertUpload = db.prepare(
      `INSERT INTO uploads (id, owner, size, sha256, name, chunk_size, chunks, created_at, updated_at)
       VALUES (@id, @owner, @size, @sha256, @name, @chunkSize, @chunks, @now, @now)`,
    );
    this.touch = db.prepare('UPDATE uploads SET updated_at = ? WHERE id = ?');
    this.deleteUpload = db.prepare('DELETE FROM uploads WHERE id = ?');
    this.setUploadMedia = db.prepare('UPDATE uploads SET media_id = ?, updated_at = ? WHERE id = ?');
    this.staleUploadIds = db
      .prepare<[number], string>('SELECT id FROM uploads WHERE media_id IS NULL AND updated_at < ?')
      .pluck();
    this.deleteFinishedBefore = db.prepare('DELETE FROM uploads WHERE media_id IS NOT NULL AND updated_at < ?');
    this.voiceRow = db.prepare(
      'SELECT last_index, duration_ms, bytes, media_id FROM voice_uploads WHERE owner = ? AND upload = ?',
    );
    this.openVoice = db
      .prepare<[string], number>('SELECT COUNT(*) FROM voice_uploads WHERE owner = ? AND media_id IS NULL')
      .pluck();
    this.insertVoice = db.prepare(
      'INSERT INTO voice_uploads (owner, upload, created_at, updated_at) VALUES (@owner, @upload, @now, @now)',
    );
    this.hasPart = db
      .prepare<[string, string, number], number>('SELECT 1 FROM voice_parts WHERE owner = ? AND upload = ? AND idx = ?')
      .pluck();
    this.insertPart = db.prepare('INSERT OR IGNORE INTO voice_parts (owner, upload, idx, data) VALUES (?, ?, ?, ?)');
    this.partAfter = db
      .prepare<[string, string, number], number>(
        'SELECT idx FROM voice_parts WHERE owner = ? AND upload = ? AND idx > ? LIMIT 1',
      )
      .pluck();
    this.partCount = db
      .prepare<[string, string], number>('SELECT COUNT(*) FROM voice_parts WHERE owner = ? AND upload = ?')
      .pluck();
    this.updateVoice = db.prepare(
      `UPDATE voice_uploads SET bytes = bytes + @added, updated_at = @now,
         last_index = COALESCE(@lastIndex, last_index), duration_ms = COALESCE(@durationMs, duration_ms)
       WHERE owner = @owner AND upload = @upload`,
    );
    this.parts = db
      .prepare<[string, string], Buffer>('SELECT data FROM voice_parts WHERE owner = ? AND upload = ? ORDER BY idx')
      .pluck();
    this.deleteParts = db.prepare('DELETE FROM voice_parts WHERE owner = ? AND upload = ?');
    this.deleteVoice = db.prepare('DELETE FROM voice_uploads WHERE owner = ? AND upload = ?');
    this.setVoiceMedia = db.prepare(
      'UPDATE voice_uploads SET media_id = ?, updated_at = ? WHERE owner = ? AND upload = ?',
    );
    this.staleVoice = db.prepare('SELECT owner, upload FROM voice_uploads WHERE media_id IS NULL AND updated_at < ?');
    this.deleteVoiceFinishedBefore = db.prepare(
      'DELETE FROM voice_uploads WHERE media_id IS NOT NULL AND updated_at < ?',
    );
    this.fileNames = db.prepare('SELECT file, thumb FROM media_files');
    this.agedMedia = db.prepare<[AgedQuery], AgedRow>(
      `SELECT md.id, md.created_at AS createdAt, md.file_id AS fileId,
         EXISTS (SELECT 1 FROM messages m WHERE m.media_id = md.id)
           OR EXISTS (SELECT 1 FROM media_convs mc WHERE mc.media_id = md.id) AS sent
       FROM media md
       WHERE md.created_at < @before AND (md.created_at, md.id) > (@createdAt, @id)
       ORDER BY md.created_at, md.id LIMIT @limit`,
    );
    this.deleteUploadsOf = db.prepare('DELETE FROM uploads WHERE media_id = ?');
    this.deleteVoiceOf = db.prepare('DELETE FROM voice_uploads WHERE media_id = ?');
    this.deleteMedia = db.prepare('DELETE FROM media WHERE id = ?');
    this.fileUsed = db.prepare<[number], number>('SELECT 1 FROM media WHERE file_id = ? LIMIT 1').pluck();
    this.deleteFile = db.prepare('DELETE FROM media_files WHERE id = ? RETURNING file, thumb');
  }

  /** The media record `id` as its owner sees it; undefined when unknown or not `owner`'s. */
  own(owner: string, id: string): Media | undefined {
    const row = this.mediaById.get(id);
    return row && row.owner === owner ? toMedia(row) : undefined;
  }

  /**
   * A media id `user` may put in a SEND of `kind`: their own, complete, and of the matching type (image
   * for kind 2, audio for kind 3). An upload id of an unfinished upload is UPLOAD_INCOMPLETE; anything
   * else unknown or not the sender's is NOT_FOUND (ids cannot be probed).
   */
  requireForSend(user: string, id: string, kind: number): string {
    const row = this.mediaById.get(id);
    if (!row || row.owner !== user) {
      const upload = this.uploadById.get(id);
      const voice = this.voiceRow.get(user, id);
      if ((upload && upload.owner === user && upload.media_id === null) || (voice && voice.media_id === null)) {
        throw new ProtocolError(ErrorCode.UploadIncomplete, `upload ${id} is not complete`);
      }
      throw new ProtocolError(ErrorCode.NotFound, `media ${id} does not exist`);
    }
    const wanted = kind === MsgKind.Image ? 'image/' : 'audio/';
    if (!row.mime.startsWith(wanted)) {
      throw new ProtocolError(ErrorCode.Invalid, `media ${id} is ${row.mime}, not right for message kind ${kind}`);
    }
    return row.id;
  }

  /** Records that media `id` was sent to conversation `conv` (its members may now read it). */
  sentTo(id: string, conv: number): void {
    this.linkConv.run(id, conv);
  }

  /** The stored file of media `id` if `viewer` may read it (its owner, or a member of a conversation it was sent to). */
  servedTo(viewer: string, id: string): ServedMedia | undefined {
    return this.served.get({ id, viewer });
  }

  /**
   * A new media record of `owner` for an image with this source digest and size that `owner` has a record
   * of already, or undefined. Only the owner's own files: a digest alone proves nothing, so another user
   * must upload the bytes (finish may then share the stored file). Dedupe answers only image files.
   */
  reuseImage(owner: string, sha256: string, size: number, mediaId: string, name: string | null): Media | undefined {
    const file = this.ownFileBySha.get(sha256, owner);
    if (!file || file.source_size !== size || !file.mime.startsWith('image/')) return undefined;
    this.insertMedia.run(mediaId, file.id, owner, name, null, Date.now());
    return this.own(owner, mediaId);
  }

  /** Opens an image upload within the owner's quota (RATE_LIMITED beyond it). */
  openUpload(u: NewUpload, quota: MediaQuota): void {
    const now = Date.now();
    const open = this.openUploads.get(u.owner) ?? { n: 0, bytes: 0 };
    if (open.n >= quota.maxOpenUploads) {
      throw new ProtocolError(ErrorCode.RateLimited, `at most ${quota.maxOpenUploads} uploads may be open at once`);
    }
    if ((open.bytes ?? 0) + u.size > quota.maxOpenBytes) {
      throw new ProtocolError(ErrorCode.RateLimited, `open uploads may hold at most ${quota.maxOpenBytes} bytes`);
    }
    if ((this.bytesSince.get(u.owner, now - DAY_MS) ?? 0) + u.size > quota.maxBytesPerDay) {
      throw new ProtocolError(ErrorCode.RateLimited, `at most ${quota.maxBytesPerDay} bytes may be uploaded a day`);
    }
    this.insertUpload.run({ ...u, now });
  }

  /** The upload `id` (whoever's it is: callers check `owner`). */
  upload(id: string): UploadRow | undefined {
    return this.uploadById.get(id);
  }

  /** Marks activity on an upload (stale uploads are swept by their last activity). */
  touchUpload(id: string): void {
    this.touch.run(Date.now(), id);
  }

  /** Forgets an upload (its chunk files are the caller's to delete). Media made from it stay. */
  dropUpload(id: string): void {
    this.deleteUpload.run(id);
  }

  /**
   * Stores `file` (or, when a file with the same source digest is already stored, reuses that one),
   * makes media record `mediaId` of `owner` for it and, for an image upload, marks upload `uploadId` done.
   * Returns the media and whether `file` went unused (the caller then deletes its files).
   */
  finish(
    file: StoredFile,
    media: { id: string; owner: string; name: string | null; durationMs: number | null },
    done: { upload: string } | { voice: string },
  ): { media: Media; unused: boolean } {
    const now = Date.now();
    const existing = this.fileBySha.get(file.sourceSha256);
    const fileId = existing?.id ?? (this.insertFile.get({ ...file, now }) as number);
    this.insertMedia.run(media.id, fileId, media.owner, media.name, media.durationMs, now);
    if ('upload' in done) this.setUploadMedia.run(media.id, now, done.upload);
    else {
      this.setVoiceMedia.run(media.id, now, media.owner, done.voice);
      this.deleteParts.run(media.owner, done.voice);
    }
    return { media: this.own(media.owner, media.id)!, unused: existing !== undefined };
  }

  /** Ids of unfinished image uploads idle since before `before`. */
  staleUploads(before: number): string[] {
    return this.staleUploadIds.all(before);
  }

  /** Drops unfinished voice uploads idle since before `before`, and finished upload records older than `doneBefore`. */
  sweepRecords(before: number, doneBefore: number): number {
    const stale = this.staleVoice.all(before);
    for (const v of stale) this.dropVoice(v.owner, v.upload);
    this.deleteFinishedBefore.run(doneBefore);
    this.deleteVoiceFinishedBefore.run(doneBefore);
    return stale.length;
  }

  /** Every stored file and thumbnail name the database refers to. */
  storedNames(): Set<string> {
    const names = new Set<string>();
    for (const row of this.fileNames.iterate()) {
      names.add(row.file);
      if (row.thumb) names.add(row.thumb);
    }
    return names;
  }

  /**
   * Deletes media created before `before` that no message references (never sent), examining at most
   * `limit` media in (created_at, id) order after `from`. With each go the finished upload records naming it
   * and, when no other record uses it, its stored file's row; those files' names are returned for the
   * caller to delete from disk once this has committed (a crash in between leaves only files the database
   * does not know, which start-up deletes).
   */
  dropUnsent(before: number, from: MediaKey | undefined, limit: number): UnsentPage {
    const rows = this.agedMedia.all({ before, createdAt: from?.createdAt ?? -1, id: from?.id ?? '', limit });
    const files: string[] = [];
    let dropped = 0;
    for (const row of rows) {
      if (row.sent) continue;
      this.deleteUploadsOf.run(row.id);
      this.deleteVoiceOf.run(row.id);
      this.deleteMedia.run(row.id);
      dropped++;
      if (this.fileUsed.get(row.fileId) !== undefined) continue;
      const gone = this.deleteFile.get(row.fileId);
      if (gone) files.push(gone.file, ...(gone.thumb ? [gone.thumb] : []));
    }
    const last = rows.at(-1);
    return {
      dropped,
      files,
      more: rows.length === limit,
      ...(last ? { last: { createdAt: last.createdAt, id: last.id } } : {}),
    };
  }

  /**
   * Holds one voice part (idempotent on owner+upload+index). Says whether the note is already stored
   * (`done`, with its media), whether this part completed the set (`complete`: join the parts now),
   * or would take the note past `maxBytes` (`too-large`: nothing was written).
   */
  addVoicePart(owner: string, part: VoicePart, quota: MediaQuota, maxBytes: number): VoicePartResult {
    const { upload, index } = part;
    let row = this.voiceRow.get(owner, upload);
    if (row?.media_id) return { state: 'done', media: this.own(owner, row.media_id)! };
    if (!row) {
      if (this.openVoice.get(owner)! >= quota.maxOpenVoice) {
        throw new ProtocolError(ErrorCode.RateLimited, `at most ${quota.maxOpenVoice} voice notes may be open at once`);
      }
      this.insertVoice.run({ owner, upload, now: Date.now() });
      row = { last_index: null, duration_ms: null, bytes: 0, media_id: null };
    }
    if (row.last_index !== null && index > row.last_index) {
      throw new ProtocolError(ErrorCode.Invalid, `part ${index} is beyond the final part ${row.last_index}`);
    }
    if (part.last) {
      if (row.last_index !== null && row.last_index !== index) {
        throw new ProtocolError(ErrorCode.Invalid, `part ${row.last_index} was already the final part`);
      }
      if (this.partAfter.get(owner, upload, index) !== undefined) {
        throw new ProtocolError(
          ErrorCode.Invalid,
          `a part after ${index} is held, so ${index} cannot be the final one`,
        );
      }
    }
    let added = 0;
    if (this.hasPart.get(owner, upload, index) === undefined) {
      if (row.bytes + part.data.length > maxBytes) return { state: 'too-large' };
      this.insertPart.run(owner, upload, index, part.data);
      added = part.data.length;
    }
    this.updateVoice.run({
      owner,
      upload,
      added,
      now: Date.now(),
      lastIndex: part.last ? index : null,
      durationMs: part.last ? (part.durationMs ?? null) : null,
    });
    const lastIndex = part.last ? index : row.last_index;
    const complete = lastIndex !== null && this.partCount.get(owner, upload) === lastIndex + 1;
    return { state: complete ? 'complete' : 'stored' };
  }

  /** The held parts of a voice upload, in order. */
  voiceParts(owner: string, upload: string): Buffer[] {
    return this.parts.all(owner, upload);
  }

  /** The duration the recorder reported for a voice upload, if any. */
  voiceDuration(owner: string, upload: string): number | null {
    return this.voiceRow.get(owner, upload)?.duration_ms ?? null;
  }

  /** Forgets a voice upload and its parts. */
  dropVoice(owner: string, upload: string): void {
    this.deleteParts.run(owner, upload);
    this.deleteVoice.run(owner, upload);
  }
}

const DAY_MS = 24 * 3600_000;

interface AgedQuery {
  before: number;
  createdAt: number;
  id: string;
  limit: number;
}

interface AgedRow {
  id: string;
  createdAt: number;
  fileId: number;
  sent: number;
}

interface VoiceUpdate {
  owner: string;
  upload: string;
  added: number;
  now: number;
  lastIndex: number | null;
  durationMs: number | null;
}
