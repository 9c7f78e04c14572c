import type { Conversation, Message, SyncEvent } from '@synkey/protocol';
import { applyEvents } from '../apply';
import { byActivity } from '../model';
import type { Changes, MessageRange, OutboxEntry, OutboxPatch, Store, SynKey } from '../store';
import { isStoreError, StoreError, StoreErrorCode } from './errors';
import { EVENT_STORES, IdbTx } from './idb-tx';
import { type IdbFactory, openDatabase } from './open-db';
import { settled, walk } from './request';
import { ALL_STORES, metaKey, type StoreName, SYNKEY_KEY } from './schema';
import { transact } from './transact';

/** How {@link openIdbStore} opens. */
export interface IdbStoreOptions {
  /** Rejects an `open()` (or a reopen) that has not settled after this long; default 5000 ms. */
  timeoutMs?: number;
  /**
   * The IndexedDB to use; default: `globalThis.indexedDB`. The global `IDBKeyRange` must be the one
   * of this factory.
   */
  indexedDB?: IdbFactory;
  /** Called once when the store closes itself because another tab upgraded or deleted the database. */
  onClose?: (error: StoreError) => void;
}

const DEFAULT_TIMEOUT_MS = 5000;
const NO_SYNKEY: SynKey = { epoch: 0, seq: 0 };

/**
 * Opens the {@link IdbStore} in database `name` (see {@link databaseName}), creating or upgrading
 * it. Rejects with a {@link StoreError}: STORE_UNAVAILABLE (no IndexedDB, or the browser refuses),
 * OPEN_TIMEOUT, BLOCKED (another tab holds an older version), VERSION_TOO_NEW, STORE_FAILED.
 */
export async function openIdbStore(name: string, options: IdbStoreOptions = {}): Promise<IdbStore> {
  const factory = options.indexedDB ?? globalIndexedDB();
  if (typeof IDBKeyRange === 'undefined') {
    throw new StoreError(StoreErrorCode.Unavailable, 'the IndexedDB classes are missing from this global scope');
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const open = () => openDatabase(factory, name, { timeoutMs });
  return new IdbStore(await open(), open, options.onClose);
}

function globalIndexedDB(): IdbFactory {
  let factory: IDBFactory | undefined;
  try {
    factory = globalThis.indexedDB;
  } catch (error) {
    // A sandboxed frame throws SecurityError on the mere access.
    throw new StoreError(StoreErrorCode.Unavailable, 'IndexedDB is not accessible here', error);
  }
  if (!factory) throw new StoreError(StoreErrorCode.Unavailable, 'IndexedDB is not available here');
  return factory;
}

/** `entry` with its file from the `files` store of `tx`, if it has one. */
async function withFile(tx: IDBTransaction, entry: OutboxEntry): Promise<OutboxEntry> {
  if (!entry.upload) return entry;
  const file = await settled<Blob | undefined>(tx.objectStore('files').get(entry.cmid));
  return file ? { ...entry, file } : entry;
}

/** Event writes may be lost on a power cut: the SynKey moves with them, so they are fetched again. */
const RELAXED: IDBTransactionOptions = { durability: 'relaxed' };

function asSynKey(value: string | SynKey | undefined): SynKey {
  return typeof value === 'object' ? { epoch: value.epoch, seq: value.seq } : { ...NO_SYNKEY };
}

/**
 * The durable {@link Store} over IndexedDB; behaves as {@link MemoryStore} does. Every method is one
 * transaction; `applySync` checks the expected SynKey, applies the events and stores the new SynKey
 * in one readwrite transaction over all stores, so a crash keeps all of it or none.
 *
 * Every failure rejects with a {@link StoreError}. When the browser drops the connection
 * ("connection lost", or a `close` event), a call reopens the database once and runs again; every
 * method may run again safely because a failed transaction wrote nothing (`removeOutbox` may then
 * resolve false). When another tab upgrades or deletes the database, the store does not reopen
 * (its schema is outdated, or its data is meant to be gone): it closes, calls `onClose`, and every
 * later call rejects with VERSION_CHANGE: the page should reload. After `close()` calls reject with
 * STORE_CLOSED.
 */
export class IdbStore implements Store {
  private db: IDBDatabase | undefined;
  private closedBy: StoreError | undefined;
  private reopening: Promise<IDBDatabase> | undefined;

  /**
   * Wraps an open connection; {@link openIdbStore} is the usual way in.
   * @param reopen opens the same database again after the connection was lost.
   */
  constructor(
    db: IDBDatabase,
    private readonly reopen: () => Promise<IDBDatabase>,
    private readonly onClose?: (error: StoreError) => void,
  ) {
    this.attach(db);
  }

  meta(key: string): Promise<string | undefined> {
    return this.run(['meta'], 'readonly', async (tx) => {
      const value = await settled(tx.objectStore('meta').get(metaKey(key)));
      return typeof value === 'string' ? value : undefined;
    });
  }

  setMeta(key: string, value: string): Promise<void> {
    return this.run(['meta'], 'readwrite', async (tx) => {
      tx.objectStore('meta').put(value, metaKey(key));
    });
  }

  synKey(): Promise<SynKey> {
    return this.run(['meta'], 'readonly', async (tx) =>
      asSynKey(await settled(tx.objectStore('meta').get(SYNKEY_KEY))),
    );
  }

  applySync(
    events: readonly SyncEvent[],
    next: SynKey,
    context: { expected: SynKey; me: string },
  ): Promise<Changes | undefined> {
    return this.run(
      ALL_STORES,
      'readwrite',
      async (tx) => {
        const meta = tx.objectStore('meta');
        const key = asSynKey(await settled(meta.get(SYNKEY_KEY)));
        if (key.epoch !== context.expected.epoch || key.seq !== context.expected.seq) return undefined;
        const changes = await applyEvents(new IdbTx(tx), events, context.me);
        meta.put({ epoch: next.epoch, seq: next.seq }, SYNKEY_KEY);
        return changes;
      },
      RELAXED,
    );
  }

  apply(events: readonly SyncEvent[], me: string): Promise<Changes> {
    return this.run(EVENT_STORES, 'readwrite', (tx) => applyEvents(new IdbTx(tx), events, me), RELAXED);
  }

  reset(epoch: number): Promise<void> {
    return this.run(['meta', 'conversations', 'messages'], 'readwrite', async (tx) => {
      tx.objectStore('conversations').clear();
      tx.objectStore('messages').clear();
      tx.objectStore('meta').put({ epoch, seq: 0 }, SYNKEY_KEY);
    });
  }

  clear(): Promise<void> {
    return this.run(ALL_STORES, 'readwrite', async (tx) => {
      for (const name of ['conversations', 'messages', 'outbox', 'files'] as const) tx.objectStore(name).clear();
      tx.objectStore('meta').delete(SYNKEY_KEY);
    });
  }

  conversation(id: number): Promise<Conversation | undefined> {
    return this.run(['conversations'], 'readonly', (tx) => settled(tx.objectStore('conversations').get(id)));
  }

  conversations(): Promise<Conversation[]> {
    return this.run(['conversations'], 'readonly', async (tx) =>
      (await settled<Conversation[]>(tx.objectStore('conversations').getAll())).sort(byActivity),
    );
  }

  messages(conv: number, range: MessageRange): Promise<Message[]> {
    return this.run(['messages'], 'readonly', async (tx) => {
      const before = range.before ?? Number.POSITIVE_INFINITY;
      if (!(before > Number.NEGATIVE_INFINITY) || range.limit <= 0) return [];
      const keys = IDBKeyRange.bound([conv, Number.NEGATIVE_INFINITY], [conv, before], false, true);
      const page: Message[] = [];
      await walk(tx.objectStore('messages').index('by-conv-seq').openCursor(keys, 'prev'), (cursor) => {
        page.push(cursor.value as Message);
        return page.length < range.limit;
      });
      return page.reverse();
    });
  }

  /** All outbox entries in cmid order: cmids are UUIDv7, so that is creation order, as in MemoryStore. */
  outbox(): Promise<OutboxEntry[]> {
    return this.run(['outbox', 'files'], 'readonly', async (tx) => {
      const entries = await settled<OutboxEntry[]>(tx.objectStore('outbox').getAll());
      return Promise.all(entries.map((entry) => withFile(tx, entry)));
    });
  }

  outboxEntry(cmid: string): Promise<OutboxEntry | undefined> {
    return this.run(['outbox', 'files'], 'readonly', async (tx) => {
      const entry = await settled<OutboxEntry | undefined>(tx.objectStore('outbox').get(cmid));
      return entry && withFile(tx, entry);
    });
  }

  putOutbox(entry: OutboxEntry): Promise<void> {
    return this.run(['outbox', 'files'], 'readwrite', async (tx) => {
      const { file, ...rest } = entry;
      tx.objectStore('outbox').put(rest);
      if (file) tx.objectStore('files').put(file, entry.cmid);
    });
  }

  updateOutbox(cmid: string, patch: OutboxPatch): Promise<OutboxEntry | undefined> {
    return this.run(['outbox', 'files'], 'readwrite', async (tx) => {
      const outbox = tx.objectStore('outbox');
      const entry = await settled<OutboxEntry | undefined>(outbox.get(cmid));
      if (!entry) return undefined;
      const next: OutboxEntry = { ...entry, ...patch };
      if (next.error === undefined) delete next.error;
      if (next.upload === undefined) delete next.upload;
      outbox.put(next);
      return withFile(tx, next);
    });
  }

  removeOutbox(cmid: string): Promise<boolean> {
    return this.run(['outbox', 'files'], 'readwrite', async (tx) => {
      const outbox = tx.objectStore('outbox');
      if ((await settled(outbox.getKey(cmid))) === undefined) return false;
      outbox.delete(cmid);
      tx.objectStore('files').delete(cmid);
      return true;
    });
  }

  /** Closes the connection; transactions already running still finish. Later calls reject with STORE_CLOSED. */
  async close(): Promise<void> {
    this.closedBy ??= new StoreError(StoreErrorCode.Closed, 'the store is closed');
    const db = this.db;
    this.db = undefined;
    db?.close();
  }

  /** Runs `body` in one transaction; reopens once and runs it again when the connection was lost. */
  private async run<T>(
    names: readonly StoreName[],
    mode: IDBTransactionMode,
    body: (tx: IDBTransaction) => Promise<T>,
    options?: IDBTransactionOptions,
  ): Promise<T> {
    if (this.closedBy) throw this.closedBy;
    let reopened = this.db === undefined;
    let db = this.db ?? (await this.reconnect());
    for (;;) {
      try {
        return await transact(db, names, mode, body, options);
      } catch (error) {
        if (!isStoreError(error, StoreErrorCode.ConnectionLost)) throw error;
        if (this.closedBy) throw this.closedBy;
        if (reopened) throw error;
        this.drop(db);
        reopened = true;
        db = this.db ?? (await this.reconnect());
      }
    }
  }

  /** Opens the database again, once for all the calls that need it. */
  private reconnect(): Promise<IDBDatabase> {
    this.reopening ??= this.reopen().then(
      (db) => {
        this.reopening = undefined;
        if (this.closedBy) {
          db.close();
          throw this.closedBy;
        }
        this.attach(db);
        return db;
      },
      (error: unknown) => {
        this.reopening = undefined;
        if (this.closedBy) throw this.closedBy;
        throw new StoreError(
          StoreErrorCode.ConnectionLost,
          'the connection to IndexedDB was lost and reopening failed',
          error,
        );
      },
    );
    return this.reopening;
  }

  private attach(db: IDBDatabase): void {
    this.db = db;
    db.addEventListener('versionchange', (event) => {
      this.drop(db);
      if (this.closedBy) return;
      this.closedBy = new StoreError(
        StoreErrorCode.VersionChange,
        event.newVersion === null
          ? 'another tab deleted the database'
          : `another tab upgraded the database to version ${event.newVersion}`,
      );
      this.onClose?.(this.closedBy);
    });
    // Fired when the browser closes the connection by force (storage cleared, "connection lost").
    db.addEventListener('close', () => {
      if (this.db === db) this.db = undefined;
    });
  }

  private drop(db: IDBDatabase): void {
    if (this.db === db) this.db = undefined;
    db.close();
  }
}
