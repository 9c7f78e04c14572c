import Database from 'better-sqlite3';
import { type Checkpointer, startCheckpointer } from './checkpointer';
import { Conversations } from './conversations';
import { MediaRows } from './media';
import { Messages } from './messages';
import { migrate } from './migrations';
import { Receipts } from './receipts';
import { Summaries } from './summaries';
import { SyncReader } from './sync';
import { Timeline } from './timeline';
import type { ChatStore } from './types';
import { checkId, checkName } from './validate';

/** Options of {@link openStore}. */
export interface StoreOptions {
  /** Fsync every commit (`synchronous = FULL`). Default false (`NORMAL`). */
  fsync?: boolean;
  /** Where background checkpoint failures are reported. Default console.error. */
  log?: (msg: string, err?: unknown) => void;
}

/**
 * Opens (creating and migrating as needed) the SQLite database at `path` (`':memory:'` for a throwaway one)
 * and returns the chat store over it. WAL with `synchronous = NORMAL`: a commit is written to the WAL file
 * before the server acknowledges anything, so a killed or crashed server process never loses a committed
 * transaction; only an OS crash or power loss may drop the last commits before a checkpoint (fsync happens
 * at checkpoints, not per commit), messages already acknowledged among them. `fsync` (`synchronous =
 * FULL`) closes that window with one fsync per commit; the server commits once per event-loop turn, so
 * that is one fsync per turn, not per message. Checkpoints of a database file run on a thread of their
 * own ({@link startCheckpointer}), so their fsyncs never stall the server.
 */
export function openStore(path: string, opts: StoreOptions = {}): ChatStore {
  const log = opts.log ?? ((msg: string, err?: unknown) => console.error(`[synkey store] ${msg}`, err ?? ''));
  const db = new Database(path);
  let checkpointer: Checkpointer | undefined;
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${opts.fsync ? 'FULL' : 'NORMAL'}`);
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    // 64 MiB of page cache (the default is 16 MiB) and in-memory temp b-trees (GROUP BY, DISTINCT).
    db.pragma('cache_size = -65536');
    db.pragma('temp_store = MEMORY');
    migrate(db);
    if (!db.memory) {
      db.pragma('wal_autocheckpoint = 0');
      checkpointer = startCheckpointer(path, (why, threadDied) => {
        log('background checkpoint failed', why);
        if (threadDied && db.open) db.pragma('wal_autocheckpoint = 1000');
      });
    }
    return createStore(db, () => checkpointer?.stop());
  } catch (err) {
    checkpointer?.stop();
    db.close();
    throw err;
  }
}

function createStore(db: Database.Database, beforeClose: () => void): ChatStore {
  const epoch = Number(db.prepare<[], string>("SELECT value FROM meta WHERE key = 'epoch'").pluck().get());
  if (!Number.isSafeInteger(epoch) || epoch < 1) throw new Error('the database has no valid epoch');

  const timeline = new Timeline(db);
  const summaries = new Summaries(db);
  const conversations = new Conversations(db, timeline, summaries);
  const mediaRows = new MediaRows(db);
  const messages = new Messages(db, conversations, timeline, mediaRows);
  const receipts = new Receipts(db, epoch, conversations, timeline);
  const syncReader = new SyncReader(db, epoch, timeline, summaries, messages);

  const upsertUser = db.prepare<[string, string | null, number]>(
    `INSERT INTO users (id, name, created_at) VALUES (?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET name = excluded.name
     WHERE excluded.name IS NOT NULL AND excluded.name IS NOT users.name`,
  );
  const touchDevice = db.prepare<[string, string, number]>(
    `INSERT INTO devices (user_id, device_id, last_seen) VALUES (?, ?, ?)
     ON CONFLICT (user_id, device_id) DO UPDATE SET last_seen = excluded.last_seen`,
  );
  const metaGet = db.prepare<[string], string>('SELECT value FROM meta WHERE key = ?').pluck();
  const metaPut = db.prepare<[string, string]>('INSERT INTO meta (key, value) VALUES (?, ?)');

  /** After a rollback, what the store remembers may be ahead of the database. */
  const forget = () => {
    timeline.forget();
    messages.forget();
  };
  /** A write: its own transaction, or a savepoint inside a {@link ChatStore.batch}; all or nothing either way. */
  const write = <A extends unknown[], R>(fn: (...args: A) => R) => {
    const tx = db.transaction(fn).immediate;
    return (...args: A): R => {
      try {
        return tx(...args);
      } catch (e) {
        forget();
        throw e;
      }
    };
  };
  /** A read: a transaction of its own for a consistent view, or none needed inside a batch's transaction. */
  const readOnly = <A extends unknown[], R>(fn: (...args: A) => R) => {
    const tx = db.transaction(fn).deferred;
    return (...args: A): R => (db.inTransaction ? fn(...args) : tx(...args));
  };
  const batch = <R>(fn: () => R): R => {
    try {
      return db.transaction(fn).immediate();
    } catch (e) {
      forget();
      throw e;
    }
  };

  const ensureUser = write((user: string, device?: string, name?: string) => {
    checkId(user, 'user');
    if (device !== undefined) checkId(device, 'device');
    const displayName = checkName(name);
    const now = Date.now();
    upsertUser.run(user, displayName, now);
    if (device !== undefined) touchDevice.run(user, device, now);
  });
  const meta = write((key: string, init: () => string) => {
    const stored = metaGet.get(key);
    if (stored !== undefined) return stored;
    const value = init();
    metaPut.run(key, value);
    return value;
  });

  return {
    epoch,
    ensureUser,
    maxSeq: (user) => timeline.newest(user),
    send: write(messages.send.bind(messages)),
    sync: readOnly(syncReader.sync.bind(syncReader)),
    ack: write(receipts.ack.bind(receipts)),
    read: write(receipts.read.bind(receipts)),
    createConversation: write(conversations.create.bind(conversations)),
    listConversations: readOnly(summaries.list.bind(summaries)),
    history: readOnly(messages.history.bind(messages)),
    meta,
    batch,
    media: {
      own: readOnly(mediaRows.own.bind(mediaRows)),
      servedTo: readOnly(mediaRows.servedTo.bind(mediaRows)),
      reuseImage: write(mediaRows.reuseImage.bind(mediaRows)),
      openUpload: write(mediaRows.openUpload.bind(mediaRows)),
      upload: readOnly(mediaRows.upload.bind(mediaRows)),
      touchUpload: write(mediaRows.touchUpload.bind(mediaRows)),
      dropUpload: write(mediaRows.dropUpload.bind(mediaRows)),
      finish: write(mediaRows.finish.bind(mediaRows)),
      staleUploads: readOnly(mediaRows.staleUploads.bind(mediaRows)),
      sweepRecords: write(mediaRows.sweepRecords.bind(mediaRows)),
      storedNames: readOnly(mediaRows.storedNames.bind(mediaRows)),
      dropUnsent: write(mediaRows.dropUnsent.bind(mediaRows)),
      addVoicePart: write(mediaRows.addVoicePart.bind(mediaRows)),
      voiceParts: readOnly(mediaRows.voiceParts.bind(mediaRows)),
      voiceDuration: readOnly(mediaRows.voiceDuration.bind(mediaRows)),
      dropVoice: write(mediaRows.dropVoice.bind(mediaRows)),
    },
    close: () => {
      beforeClose();
      db.close();
    },
  };
}
