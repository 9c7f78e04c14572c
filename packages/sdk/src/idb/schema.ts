import type { Conversation, Message } from '@synkey/protocol';
import type { OutboxEntry, SynKey } from '../store';

/**
 * The IndexedDB schema of one user's local state on one server: each object store's key and value.
 *
 * Indexes: `messages` has `by-conv-seq` (`[conv, convSeq]`: pages of a conversation in order) and
 * `by-cmid` (my own messages by clientMsgId; others' carry none and are not indexed); `outbox` has
 * `by-created` (entries by local creation time).
 */
export interface SynkeyDB {
  /** The SynKey under {@link SYNKEY_KEY}; the Store's meta values under {@link metaKey}. */
  meta: { key: string; value: string | SynKey };
  conversations: { key: number; value: Conversation };
  messages: { key: number; value: Message };
  /** Stored without its `file`, which lives in `files`: progress updates never rewrite the file. */
  outbox: { key: string; value: OutboxEntry };
  /** The files of image and voice messages in the outbox, by cmid (version 2). */
  files: { key: string; value: Blob };
}

/** The name of an object store of {@link SynkeyDB}. */
export type StoreName = keyof SynkeyDB;

/** The name of every object store, for a transaction over all of them. */
export const ALL_STORES: StoreName[] = ['meta', 'conversations', 'messages', 'outbox', 'files'];

/** Where the SynKey lives in `meta`. No {@link metaKey} can equal it. */
export const SYNKEY_KEY = 'synKey';

/** Where the Store's meta value `key` lives in `meta`. */
export function metaKey(key: string): string {
  return `meta:${key}`;
}

/**
 * The database name for `user` on `server`, so that two users (or two servers) in one browser
 * never share state. Both parts are escaped, so no two pairs give the same name.
 */
export function databaseName(server: string, user: string): string {
  return `synkey:${encodeURIComponent(server)}:${encodeURIComponent(user)}`;
}

/**
 * One schema step: brings a database at `version - 1` to `version`. A step may await requests on
 * `tx` (to move data), but nothing else: the upgrade transaction would commit under it.
 */
export interface Migration {
  version: number;
  apply(db: IDBDatabase, tx: IDBTransaction): void | Promise<void>;
}

/** The schema's history, oldest first. A new version appends a step; a released step never changes. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    apply(db) {
      db.createObjectStore('meta');
      db.createObjectStore('conversations', { keyPath: 'id' });
      const messages = db.createObjectStore('messages', { keyPath: 'id' });
      messages.createIndex('by-conv-seq', ['conv', 'convSeq']);
      messages.createIndex('by-cmid', 'cmid');
      const outbox = db.createObjectStore('outbox', { keyPath: 'cmid' });
      outbox.createIndex('by-created', 'createdAt');
    },
  },
  {
    version: 2,
    apply(db) {
      db.createObjectStore('files');
    },
  },
];

/** The version `migrations` end at. */
export function schemaVersion(migrations: readonly Migration[] = MIGRATIONS): number {
  return migrations.at(-1)?.version ?? 0;
}

/**
 * Runs, in order, the steps of `migrations` that lie in `(oldVersion, newVersion]`: the body of an
 * `upgradeneeded` handler. A database at version 0 (new) runs every step.
 */
export async function upgrade(
  db: IDBDatabase,
  oldVersion: number,
  newVersion: number,
  tx: IDBTransaction,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<void> {
  for (const step of migrations) {
    if (step.version <= oldVersion || step.version > newVersion) continue;
    // A synchronous step runs at once, still inside the `upgradeneeded` event.
    const pending = step.apply(db, tx);
    if (pending) await pending;
  }
}
