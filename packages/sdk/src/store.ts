import type { Conversation, Media, Message, SyncEvent } from '@synkey/protocol';

/** The client's position in its user's timeline; `(0, 0)` before the first sync. */
export interface SynKey {
  epoch: number;
  seq: number;
}

/** `sending` while the outbox tries; `failed` once it gave up, until `retry` or `remove`. */
export type OutboxState = 'sending' | 'failed';

/**
 * The file of an image or voice message in the outbox: what is known about it locally and how far
 * its upload got. Everything here survives a reload, so an upload resumes where it stopped.
 */
export interface UploadState {
  /** The file's type as the page gave it (the server detects the real one). */
  mime: string;
  /** Bytes. */
  size: number;
  /** A file name to show; never a path. */
  name?: string;
  /** Image pixels, read from the file's header (EXIF orientation applied). */
  width?: number;
  height?: number;
  /** Voice length, as the recorder measured it. */
  durationMs?: number;
  /** Hex SHA-256 of an image, once computed: the server skips files it already holds. */
  sha256?: string;
  /** The upload's id: the server's for an image, the client's own for a voice note. */
  id?: string;
  /** The chunk size of an image upload, as the server set it. */
  chunkSize?: number;
  /** The parts of a voice note the server acknowledged. */
  acked?: number[];
  /** The server's record of the stored file: once set, the message's SEND can go. */
  media?: Media;
}

/** A message written locally that the server has not acknowledged yet. */
export interface OutboxEntry {
  /** The clientMsgId: the same on every attempt, so the server stores the message once. */
  cmid: string;
  conv: number;
  kind: number;
  /** The text; the caption of an image. */
  text?: string;
  /** Local time of `send()`, in ms. */
  createdAt: number;
  state: OutboxState;
  /** Why the last attempt failed. */
  error?: string;
  /** The image or voice file, kept until the server acknowledged the message. */
  file?: Blob;
  /** The file's facts and upload progress; present exactly when `file` is. */
  upload?: UploadState;
}

/** The fields of an {@link OutboxEntry} that {@link Store.updateOutbox} may change. */
export type OutboxPatch = Partial<Pick<OutboxEntry, 'state' | 'error' | 'upload'>>;

/** What a write changed, so the engine can tell its listeners. */
export interface Changes {
  /** Conversations whose record changed. */
  convs: number[];
  /** Per conversation, the messages added or changed (and mine that left the outbox), ascending by convSeq. */
  messages: Map<number, Message[]>;
  /**
   * Conversations that existed before the write and whose member positions (delivered, read)
   * rose: the states of their stored messages may have changed. The messages themselves are not
   * listed; their states follow from the positions (see `messageState`).
   */
  positions: number[];
  /** The records of the conversations the write touched, as it left them. */
  records: Map<number, Conversation>;
  /** Outbox entries that turned out to be stored on the server; they left the outbox. */
  sent: string[];
}

/** Which page of a conversation's messages to read. */
export interface MessageRange {
  /** Only messages with a convSeq below this; default: the newest. */
  before?: number;
  /** At most this many: the newest ones below `before`. */
  limit: number;
}

/** The writes of one {@link StoreTx}, issued together. */
export interface TxWrites {
  convs: Conversation[];
  msgs: Message[];
  /** cmids of outbox entries to delete, with their files. */
  sent: string[];
}

/**
 * The reads and writes of one store transaction, as {@link applyEvents} uses them: a few batched
 * reads, then one batch of writes. A store that implements this over its own transaction
 * (IndexedDB: one readwrite transaction over all stores) gets the event semantics for free.
 */
export interface StoreTx {
  /** The conversations with these ids, in the same order (undefined where there is none). */
  conversations(ids: readonly number[]): Promise<(Conversation | undefined)[]>;
  /** The messages with these ids, in the same order (undefined where there is none). */
  messages(ids: readonly number[]): Promise<(Message | undefined)[]>;
  /** Which of these cmids have an outbox entry. */
  outboxHas(cmids: readonly string[]): Promise<Set<string>>;
  /** Stores the records and deletes the outbox entries; nothing may be read after it. */
  write(writes: TxWrites): Promise<void>;
}

/**
 * The engine's durable state: the SynKey, conversations, messages (unique by id; own messages also
 * by cmid), the outbox and a few meta values. Every method is one transaction; every method is
 * async so that an IndexedDB store fits behind the same interface.
 */
export interface Store {
  /** A meta value (`device`, `user`), or undefined. */
  meta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;

  /** The SynKey the stored state corresponds to. */
  synKey(): Promise<SynKey>;
  /**
   * Applies one SYNC page and moves the SynKey to `next`, atomically, but only if the stored SynKey
   * still equals `expected`; otherwise changes nothing and resolves undefined. Applying events that
   * are already applied changes nothing.
   */
  applySync(
    events: readonly SyncEvent[],
    next: SynKey,
    context: { expected: SynKey; me: string },
  ): Promise<Changes | undefined>;
  /** Applies events that do not come from the timeline (acks, history pages, CONV replies, local reads). */
  apply(events: readonly SyncEvent[], me: string): Promise<Changes>;
  /** Drops conversations and messages and sets the SynKey to `(epoch, 0)`; keeps the outbox and meta. */
  reset(epoch: number): Promise<void>;
  /** Drops everything but meta values: the SynKey returns to `(0, 0)`. */
  clear(): Promise<void>;

  conversation(id: number): Promise<Conversation | undefined>;
  /** All conversations, most recent activity first. */
  conversations(): Promise<Conversation[]>;
  /** A page of stored messages of `conv`, ascending by convSeq. */
  messages(conv: number, range: MessageRange): Promise<Message[]>;

  /** All outbox entries, oldest first, with their files. */
  outbox(): Promise<OutboxEntry[]>;
  outboxEntry(cmid: string): Promise<OutboxEntry | undefined>;
  putOutbox(entry: OutboxEntry): Promise<void>;
  /**
   * Updates an entry that still exists (its file stays as it is); resolves the updated entry, with
   * its file, or undefined if it is gone.
   */
  updateOutbox(cmid: string, patch: OutboxPatch): Promise<OutboxEntry | undefined>;
  /** Deletes an entry and its file; resolves whether it existed. */
  removeOutbox(cmid: string): Promise<boolean>;

  close(): Promise<void>;
}
