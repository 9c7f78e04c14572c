import type { BodyOf, Conversation, Media, Message, Op } from '@synkey/protocol';

/** Users whose timelines grew and should be notified. */
export type Grew = readonly string[];

/**
 * The chat service over durable storage. Every method is synchronous (better-sqlite3) and atomic:
 * it either applies completely in one transaction or throws a `ProtocolError` (FORBIDDEN, NOT_FOUND,
 * INVALID) and changes nothing.
 */
export interface ChatStore {
  /** The store's epoch: a random u32 ≥ 1 made with the database. */
  readonly epoch: number;
  /** Creates the user if unknown (and updates the display name if given); records the device. */
  ensureUser(user: string, device?: string, name?: string): void;
  /** The user's newest timeline seq (0 if none). */
  maxSeq(user: string): number;
  /** Stores a message or returns the original ack for a repeated cmid (`duplicate: true`, nothing grew). */
  send(user: string, req: BodyOf<typeof Op.SEND>): { ack: BodyOf<typeof Op.SEND_ACK>; grew: Grew; duplicate: boolean };
  /** Reads the timeline after (epoch, seq), its events cut at about `maxBytes` (default 512 KiB). Never changes state. */
  sync(user: string, req: BodyOf<typeof Op.SYNC>, maxBytes?: number): BodyOf<typeof Op.SYNC_REPLY>;
  /** Moves the device's ack cursor and emits delivered receipts. */
  ack(user: string, device: string, req: BodyOf<typeof Op.ACK>): { grew: Grew };
  /** Records a read position and emits read receipts. */
  read(user: string, req: BodyOf<typeof Op.READ>): { grew: Grew };
  createConversation(user: string, req: BodyOf<typeof Op.CONV_CREATE>): { conv: Conversation; grew: Grew };
  listConversations(user: string): Conversation[];
  /** A page of a conversation's messages, cut at about `maxBytes` (default 512 KiB). */
  history(user: string, req: BodyOf<typeof Op.HISTORY>, maxBytes?: number): { msgs: Message[]; more: boolean };
  /**
   * Runs `fn` in one write transaction and commits once: the store calls it makes run as savepoints, so
   * each still applies completely or not at all, and they become durable together when `fn` returns.
   * Throws (having rolled back everything `fn` did) if `fn` throws or the commit fails.
   */
  batch<R>(fn: () => R): R;
  /** A value kept in the meta table (e.g. the dev-mode token secret). */
  meta(key: string, init: () => string): string;
  /** Media records, uploads and voice parts (files themselves live on disk, see `src/media`). */
  readonly media: MediaStore;
  close(): void;
}

/** A file the media layer has written to disk, described for its database row. */
export interface StoredFile {
  /** Digest of the bytes as uploaded (for an image, before metadata was stripped): the dedupe key. */
  sourceSha256: string;
  sourceSize: number;
  /** Server-made file names under the media directory. */
  file: string;
  thumb: string | null;
  thumbMime: string | null;
  mime: string;
  size: number;
  width: number | null;
  height: number | null;
}

/** An image upload row. */
export interface UploadRow {
  id: string;
  owner: string;
  size: number;
  sha256: string;
  name: string | null;
  chunk_size: number;
  chunks: number;
  media_id: string | null;
  created_at: number;
  updated_at: number;
}

/** What opening an image upload records. */
export interface NewUpload {
  id: string;
  owner: string;
  size: number;
  sha256: string;
  name: string | null;
  chunkSize: number;
  chunks: number;
}

/** Per-user limits that keep one user from filling the disk. */
export interface MediaQuota {
  /** Unfinished image uploads at once. */
  maxOpenUploads: number;
  /** Declared bytes of unfinished image uploads at once. */
  maxOpenBytes: number;
  /** Declared bytes of image uploads started in the last 24 hours. */
  maxBytesPerDay: number;
  /** Unfinished voice notes at once. */
  maxOpenVoice: number;
}

/** A stored file as the media routes serve it. */
export interface ServedMedia {
  file: string;
  thumb: string | null;
  thumbMime: string | null;
  mime: string;
  size: number;
}

/** One VOICE_PART, validated. */
export interface VoicePart {
  upload: string;
  index: number;
  data: Uint8Array;
  last?: boolean;
  durationMs?: number;
}

/** The outcome of holding a voice part. */
export type VoicePartResult =
  | { state: 'stored' }
  | { state: 'complete' }
  | { state: 'too-large' }
  | { state: 'done'; media: Media };

/** Where a page of {@link MediaStore.dropUnsent} ends: media are examined in (`createdAt`, `id`) order. */
export interface MediaKey {
  createdAt: number;
  id: string;
}

/** One page of unsent media deleted by {@link MediaStore.dropUnsent}. */
export interface UnsentPage {
  /** Media records deleted. */
  dropped: number;
  /** Stored files and thumbnails no record uses any more: the caller deletes them from disk. */
  files: string[];
  /** The last media examined, where the next page starts; undefined when there was none. */
  last?: MediaKey;
  /** Whether the page was full (more may follow). */
  more: boolean;
}

/** The media half of the store. Each method is one transaction, like the rest of {@link ChatStore}. */
export interface MediaStore {
  /** Media record `id` if it is `owner`'s. */
  own(owner: string, id: string): Media | undefined;
  /** The stored file of media `id` if `viewer` may read it: its owner, or a member of a conversation it was sent to. */
  servedTo(viewer: string, id: string): ServedMedia | undefined;
  /**
   * A new media record of `owner` for an image stored with this source digest and size that `owner` already
   * has a record of (uploaded themselves), or undefined: another user's file is never handed out by digest.
   */
  reuseImage(owner: string, sha256: string, size: number, mediaId: string, name: string | null): Media | undefined;
  /** Opens an image upload; RATE_LIMITED beyond the owner's quota. */
  openUpload(u: NewUpload, quota: MediaQuota): void;
  /** An image upload by id, whoever's it is. */
  upload(id: string): UploadRow | undefined;
  /** Marks activity on an upload (staleness counts from the last one). */
  touchUpload(id: string): void;
  /** Forgets an upload; media made from it stay. */
  dropUpload(id: string): void;
  /**
   * Records a stored file (or reuses the one with the same source digest), makes a media record for it and
   * finishes the upload it came from. `unused` says the caller's file was not needed and can go.
   */
  finish(
    file: StoredFile,
    media: { id: string; owner: string; name: string | null; durationMs: number | null },
    done: { upload: string } | { voice: string },
  ): { media: Media; unused: boolean };
  /** Ids of unfinished image uploads idle since before `before`. */
  staleUploads(before: number): string[];
  /** Drops unfinished voice notes idle since before `before` and finished upload records older than `doneBefore`. */
  sweepRecords(before: number, doneBefore: number): number;
  /** Every stored file and thumbnail name the database refers to. */
  storedNames(): Set<string>;
  /**
   * Deletes media created before `before` that no message references, examining at most `limit` media
   * after `from`; with them the finished upload records naming them and each stored file left unused.
   */
  dropUnsent(before: number, from: MediaKey | undefined, limit: number): UnsentPage;
  /** Holds one voice part (idempotent) and says what the note needs next. */
  addVoicePart(owner: string, part: VoicePart, quota: MediaQuota, maxBytes: number): VoicePartResult;
  /** The held parts of a voice note, in index order. */
  voiceParts(owner: string, upload: string): Buffer[];
  /** The recorder's duration of a voice note, if its final part gave one. */
  voiceDuration(owner: string, upload: string): number | null;
  /** Forgets a voice note's upload and parts. */
  dropVoice(owner: string, upload: string): void;
}
