import 'fake-indexeddb/auto';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { SyncEvent } from '@synkey/protocol';
import { forceCloseDatabase, IDBFactory } from 'fake-indexeddb';
import { isStoreError, type StoreError, StoreErrorCode } from '../src/idb/errors';
import { IdbStore, openIdbStore } from '../src/idb/idb-store';
import { type IdbFactory, openDatabase } from '../src/idb/open-db';
import { openDurableStore } from '../src/idb/open-store';
import { settled, walk } from '../src/idb/request';
import { databaseName, MIGRATIONS, type Migration, schemaVersion } from '../src/idb/schema';
import { MemoryStore } from '../src/memory-store';
import type { Store } from '../src/store';
import { directConv, msg, outboxEntry } from './fixtures';

const me = 'alice';
const start = { epoch: 0, seq: 0 };
const NAME = 'synkey:test:alice';
/** A schema version after the current one, for steps the tests add. */
const NEXT = schemaVersion() + 1;

/** Every store a test opened; closed after it. */
const opened: Store[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});

function track<S extends Store>(store: S): S {
  opened.push(store);
  return store;
}

/** A fresh, empty IndexedDB: one per test, so no test sees another's data. */
function freshIdb(): IDBFactory {
  return new IDBFactory();
}

async function openIdb(factory: IdbFactory = freshIdb(), options: { onClose?: (e: StoreError) => void } = {}) {
  return track(await openIdbStore(NAME, { indexedDB: factory, timeoutMs: 1000, ...options }));
}

/** Rejects like `assert.rejects`, and checks the error is a StoreError with `code`. */
async function rejectsWith(promise: Promise<unknown>, code: StoreErrorCode): Promise<StoreError> {
  let caught: unknown;
  await assert.rejects(promise, (error) => {
    caught = error;
    return true;
  });
  assert.ok(isStoreError(caught), `expected a StoreError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

/** Replaces `target[key]` until the returned function restores it. */
function patch<T extends object, K extends keyof T>(target: T, key: K, replacement: T[K]): () => void {
  const original = target[key];
  target[key] = replacement;
  return () => {
    target[key] = original;
  };
}

/** A factory that records every connection it opened. */
function recording(factory: IDBFactory): { factory: IdbFactory; connections: IDBDatabase[]; opens: () => number } {
  const connections: IDBDatabase[] = [];
  let count = 0;
  return {
    connections,
    opens: () => count,
    factory: {
      open(name, version) {
        count++;
        const request = factory.open(name, version);
        request.addEventListener('success', () => connections.push(request.result));
        return request;
      },
    },
  };
}

/** An open request that fires nothing until the test says so (Safari's hanging open()). */
function stalledRequest(result: unknown = undefined): IDBOpenDBRequest {
  return Object.assign(new EventTarget(), { result, error: null, transaction: null }) as unknown as IDBOpenDBRequest;
}

describe('IdbStore: durability and atomicity', () => {
  it('keeps the SynKey, conversations, messages, outbox and meta across close and reopen', async () => {
    const factory = freshIdb();
    const first = await openIdb(factory);
    await first.applySync(
      [{ conv: directConv(1, me, 'bob') }, { msg: msg(1, 1, 'bob') }],
      { epoch: 9, seq: 2 },
      { expected: start, me },
    );
    await first.putOutbox(outboxEntry('c1'));
    await first.setMeta('device', 'd1');
    await first.close();

    const second = await openIdb(factory);
    assert.deepEqual(await second.synKey(), { epoch: 9, seq: 2 });
    assert.equal((await second.conversation(1))?.lastSeq, 1);
    assert.deepEqual(await second.messages(1, { limit: 10 }), [msg(1, 1, 'bob')]);
    assert.deepEqual(await second.outbox(), [outboxEntry('c1')]);
    assert.equal(await second.meta('device'), 'd1');
  });

  it('a QuotaExceededError from a message write rejects with QUOTA_EXCEEDED and stores neither events nor SynKey', async () => {
    const store = await openIdb();
    await store.applySync([{ conv: directConv(1, me, 'bob') }], { epoch: 9, seq: 1 }, { expected: start, me });
    let writes = 0;
    const original = IDBObjectStore.prototype.put;
    const restore = patch(IDBObjectStore.prototype, 'put', function (this: IDBObjectStore, ...args) {
      if (this.name === 'messages' && ++writes === 2) throw new DOMException('disk full', 'QuotaExceededError');
      return original.apply(this, args);
    });
    try {
      const failure = await rejectsWith(
        store.applySync(
          [{ msg: msg(1, 1, 'bob') }, { msg: msg(1, 2, 'bob') }],
          { epoch: 9, seq: 3 },
          { expected: { epoch: 9, seq: 1 }, me },
        ),
        StoreErrorCode.Quota,
      );
      assert.equal((failure.cause as DOMException).name, 'QuotaExceededError');
    } finally {
      restore();
    }
    assert.equal(writes, 2);
    assert.deepEqual(await store.synKey(), { epoch: 9, seq: 1 });
    assert.deepEqual(await store.messages(1, { limit: 10 }), []);
    assert.equal((await store.conversation(1))?.lastSeq, 0);
  });

  it('a quota error that arrives only as the transaction abort is reported as QUOTA_EXCEEDED and stores nothing', async () => {
    const store = await openIdb();
    await store.applySync([{ conv: directConv(1, me, 'bob') }], { epoch: 9, seq: 1 }, { expected: start, me });
    const original = IDBObjectStore.prototype.put;
    const restore = patch(IDBObjectStore.prototype, 'put', function (this: IDBObjectStore, ...args) {
      const request = original.apply(this, args);
      // As Safari does: the transaction aborts with QuotaExceededError; the pending request only sees AbortError.
      if (this.name === 'messages')
        (this.transaction as unknown as { _abort(name: string): void })._abort('QuotaExceededError');
      return request;
    });
    try {
      await rejectsWith(
        store.applySync([{ msg: msg(1, 1, 'bob') }], { epoch: 9, seq: 2 }, { expected: { epoch: 9, seq: 1 }, me }),
        StoreErrorCode.Quota,
      );
      await rejectsWith(store.apply([{ msg: msg(1, 1, 'bob') }], me), StoreErrorCode.Quota);
    } finally {
      restore();
    }
    assert.deepEqual(await store.synKey(), { epoch: 9, seq: 1 });
    assert.deepEqual(await store.messages(1, { limit: 10 }), []);
  });

  it('any other failure rejects with STORE_FAILED carrying the cause, and the write is rolled back', async () => {
    const store = await openIdb();
    await store.apply([{ conv: directConv(1, me, 'bob') }], me);
    const broken = { conv: { ...directConv(1, me, 'bob'), members: null } } as unknown as SyncEvent;
    const failure = await rejectsWith(store.apply([{ msg: msg(1, 1, 'bob') }, broken], me), StoreErrorCode.Failed);
    assert.ok(failure.cause instanceof TypeError);
    assert.deepEqual(await store.messages(1, { limit: 10 }), []);
  });

  it('after close() every call rejects with STORE_CLOSED', async () => {
    const store = await openIdb();
    await store.close();
    await rejectsWith(store.synKey(), StoreErrorCode.Closed);
    await rejectsWith(store.putOutbox(outboxEntry('c1')), StoreErrorCode.Closed);
  });
});

describe('IdbStore: schema and upgrades', () => {
  /** A step after the current schema that moves data: every stored text gets a prefix. */
  function textPrefixStep(ran: number[]): Migration {
    return {
      version: NEXT,
      async apply(_db, tx) {
        ran.push(NEXT);
        await walk(tx.objectStore('messages').openCursor(), (cursor) => {
          cursor.update({ ...cursor.value, text: `next:${cursor.value.text}` });
          return true;
        });
      },
    };
  }

  /** MIGRATIONS with each step recording that it ran. */
  function spied(ran: number[], extra: Migration[] = []): Migration[] {
    return [
      ...MIGRATIONS.map((step) => ({
        version: step.version,
        apply: (db: IDBDatabase, tx: IDBTransaction) => {
          ran.push(step.version);
          return step.apply(db, tx);
        },
      })),
      ...extra,
    ];
  }

  it('a new database gets every store and index of the schema', async () => {
    const db = await openDatabase(freshIdb(), NAME, { timeoutMs: 1000 });
    assert.equal(db.version, schemaVersion());
    assert.deepEqual([...db.objectStoreNames].sort(), ['conversations', 'files', 'messages', 'meta', 'outbox']);
    const tx = db.transaction(['messages', 'outbox']);
    assert.deepEqual([...tx.objectStore('messages').indexNames].sort(), ['by-cmid', 'by-conv-seq']);
    assert.deepEqual([...tx.objectStore('outbox').indexNames], ['by-created']);
    db.close();
  });

  it('reopening at the same version runs no migration', async () => {
    const factory = freshIdb();
    const ran: number[] = [];
    (await openDatabase(factory, NAME, { timeoutMs: 1000, migrations: spied(ran) })).close();
    (await openDatabase(factory, NAME, { timeoutMs: 1000, migrations: spied(ran) })).close();
    assert.deepEqual(
      ran,
      MIGRATIONS.map((m) => m.version),
    );
  });

  it('upgrading a v1 database to v2 keeps its outbox and adds the store of outbox files', async () => {
    const factory = freshIdb();
    const v1 = await openDatabase(factory, NAME, { timeoutMs: 1000, migrations: MIGRATIONS.slice(0, 1) });
    await settled(v1.transaction('outbox', 'readwrite').objectStore('outbox').put(outboxEntry('c1')));
    v1.close();
    const store = await openIdb(factory);
    assert.deepEqual(await store.outbox(), [outboxEntry('c1')]);
    const file = new Blob(['jpeg bytes'], { type: 'image/jpeg' });
    await store.putOutbox({ ...outboxEntry('c2'), kind: 2, file, upload: { mime: 'image/jpeg', size: file.size } });
    const stored = await store.outboxEntry('c2');
    assert.equal(await stored?.file?.text(), 'jpeg bytes');
  });

  it('upgrading to a new version runs only the new step and keeps (and moves) the data', async () => {
    const factory = freshIdb();
    const v1 = await openIdb(factory);
    await v1.apply([{ conv: directConv(1, me, 'bob') }, { msg: msg(1, 1, 'bob') }], me);
    await v1.putOutbox(outboxEntry('c1'));
    await v1.close();

    const ran: number[] = [];
    const db = await openDatabase(factory, NAME, { timeoutMs: 1000, migrations: spied(ran, [textPrefixStep(ran)]) });
    assert.deepEqual(ran, [NEXT]);
    assert.equal(db.version, NEXT);
    const get = (name: string, key: IDBValidKey) => settled(db.transaction(name).objectStore(name).get(key));
    assert.equal((await get('messages', 1001))?.text, 'next:m1');
    assert.equal((await get('conversations', 1))?.id, 1);
    assert.deepEqual(await get('outbox', 'c1'), outboxEntry('c1'));
    db.close();
  });

  it('a failing upgrade step rejects with STORE_FAILED and leaves the database at its old version with its data', async () => {
    const factory = freshIdb();
    const v1 = await openIdb(factory);
    await v1.putOutbox(outboxEntry('c1'));
    await v1.close();

    const failing: Migration = {
      version: NEXT,
      apply() {
        throw new Error('bad step');
      },
    };
    const failure = await rejectsWith(
      openDatabase(factory, NAME, { timeoutMs: 1000, migrations: [...MIGRATIONS, failing] }),
      StoreErrorCode.Failed,
    );
    assert.equal((failure.cause as Error).message, 'bad step');
    const again = await openIdb(factory);
    assert.deepEqual(await again.outbox(), [outboxEntry('c1')]);
  });

  it('a database on disk newer than this code rejects with VERSION_TOO_NEW', async () => {
    const factory = freshIdb();
    const newer = await openDatabase(factory, NAME, {
      timeoutMs: 1000,
      migrations: [...MIGRATIONS, { version: 7, apply() {} }],
    });
    newer.close();
    await rejectsWith(openIdbStore(NAME, { indexedDB: factory, timeoutMs: 1000 }), StoreErrorCode.VersionTooNew);
  });

  it('databaseName keeps users and servers apart even when they contain the separator', () => {
    assert.notEqual(databaseName('wss://a:443', 'bob'), databaseName('wss://a', '443:bob'));
    assert.equal(databaseName('wss://chat.example', 'alice'), 'synkey:wss%3A%2F%2Fchat.example:alice');
  });
});

describe('IdbStore: opening', () => {
  it('an open() that never settles rejects with OPEN_TIMEOUT, and a connection that opens later is closed', async () => {
    let closed = 0;
    const request = stalledRequest({ close: () => closed++ });
    const factory: IdbFactory = { open: () => request };
    await rejectsWith(openIdbStore(NAME, { indexedDB: factory, timeoutMs: 20 }), StoreErrorCode.OpenTimeout);
    request.dispatchEvent(new Event('success'));
    assert.equal(closed, 1);
  });

  it('an open blocked by a tab holding an older version rejects with BLOCKED after the timeout; its late connection is closed', async () => {
    const factory = freshIdb();
    // The other tab: an old connection that ignores versionchange.
    const oldTab = await openDatabase(factory, NAME, { timeoutMs: 1000 });
    let versionchanges = 0;
    oldTab.addEventListener('versionchange', () => versionchanges++);
    const upgradeRan: number[] = [];
    const v2: Migration = { version: NEXT, apply: () => void upgradeRan.push(NEXT) };
    const began = Date.now();
    await rejectsWith(
      openDatabase(factory, NAME, { timeoutMs: 40, migrations: [...MIGRATIONS, v2] }),
      StoreErrorCode.Blocked,
    );
    assert.ok(Date.now() - began >= 35);
    assert.equal(versionchanges, 1);

    oldTab.close();
    // The queued open now upgrades and succeeds; it must not stay open and block the next one.
    await new Promise<void>((resolve, reject) => {
      const deletion = factory.deleteDatabase(NAME);
      deletion.onblocked = () => reject(new Error('the late connection stayed open and blocked the deletion'));
      deletion.onsuccess = () => resolve();
      deletion.onerror = () => reject(deletion.error);
    });
    assert.deepEqual(upgradeRan, [NEXT]);
  });

  it('an open() that throws SecurityError rejects with STORE_UNAVAILABLE', async () => {
    const factory: IdbFactory = {
      open: () => {
        throw new DOMException('denied', 'SecurityError');
      },
    };
    await rejectsWith(openIdbStore(NAME, { indexedDB: factory }), StoreErrorCode.Unavailable);
  });
});

describe('IdbStore: other tabs and lost connections', () => {
  it('when another tab upgrades the database, the store closes itself and later calls reject with VERSION_CHANGE', async () => {
    const factory = freshIdb();
    const closes: StoreError[] = [];
    const store = await openIdb(factory, { onClose: (error) => closes.push(error) });
    await store.putOutbox(outboxEntry('c1'));

    const newerTab = await openDatabase(factory, NAME, {
      timeoutMs: 200,
      migrations: [...MIGRATIONS, { version: NEXT, apply() {} }],
    });
    newerTab.close();

    assert.deepEqual(
      closes.map((e) => e.code),
      [StoreErrorCode.VersionChange],
    );
    await rejectsWith(store.outbox(), StoreErrorCode.VersionChange);
    await rejectsWith(store.putOutbox(outboxEntry('c2')), StoreErrorCode.VersionChange);
  });

  it('when another tab deletes the database, the store closes itself instead of blocking it', async () => {
    const factory = freshIdb();
    const store = await openIdb(factory);
    await new Promise<void>((resolve, reject) => {
      const deletion = factory.deleteDatabase(NAME);
      deletion.onblocked = () => reject(new Error('blocked'));
      deletion.onsuccess = () => resolve();
    });
    const failure = await rejectsWith(store.synKey(), StoreErrorCode.VersionChange);
    assert.match(failure.message, /deleted/);
  });

  it('after the browser closes the connection by force, the next call reopens it and finds the data', async () => {
    const { factory, connections, opens } = recording(freshIdb());
    const store = await openIdb(factory);
    await store.putOutbox(outboxEntry('c1'));
    forceCloseDatabase(connections[0] as never);
    assert.deepEqual(await store.outbox(), [outboxEntry('c1')]);
    assert.equal(opens(), 2);
  });

  it('a transaction that fails with "connection lost" is run again once on a reopened connection', async () => {
    const { factory, opens } = recording(freshIdb());
    const store = await openIdb(factory);
    let failures = 0;
    const original = IDBObjectStore.prototype.put;
    const restore = patch(IDBObjectStore.prototype, 'put', function (this: IDBObjectStore, ...args) {
      const request = original.apply(this, args);
      if (this.name === 'outbox' && ++failures === 1) {
        (this.transaction as unknown as { _abort(name: string): void })._abort('UnknownError');
      }
      return request;
    });
    try {
      await store.putOutbox(outboxEntry('c1'));
    } finally {
      restore();
    }
    assert.equal(failures, 2);
    assert.equal(opens(), 2);
    assert.deepEqual(await store.outbox(), [outboxEntry('c1')]);
  });

  it('when the connection stays lost after one reopen, the call rejects with CONNECTION_LOST', async () => {
    const { factory, opens } = recording(freshIdb());
    const store = await openIdb(factory);
    const restore = patch(IDBDatabase.prototype, 'transaction', () => {
      throw new DOMException(
        'Connection to Indexed Database server lost. Refresh the page to try again',
        'UnknownError',
      );
    });
    try {
      await rejectsWith(store.synKey(), StoreErrorCode.ConnectionLost);
    } finally {
      restore();
    }
    assert.equal(opens(), 2);
    assert.deepEqual(await store.synKey(), start);
  });

  it('when reopening fails, the call rejects with CONNECTION_LOST carrying why', async () => {
    const inner = freshIdb();
    let hang = false;
    const factory: IdbFactory = { open: (name, version) => (hang ? stalledRequest() : inner.open(name, version)) };
    const connections: IDBDatabase[] = [];
    const store = track(await openIdbStore(NAME, { indexedDB: factory, timeoutMs: 30 }));
    hang = true;
    const restore = patch(IDBDatabase.prototype, 'transaction', function (this: IDBDatabase) {
      connections.push(this);
      throw new DOMException('The database connection is closing.', 'InvalidStateError');
    });
    let failure: StoreError;
    try {
      failure = await rejectsWith(store.synKey(), StoreErrorCode.ConnectionLost);
    } finally {
      restore();
    }
    assert.equal(connections.length, 1);
    assert.ok(isStoreError(failure.cause, StoreErrorCode.OpenTimeout));
  });
});

describe('openDurableStore', () => {
  function withoutGlobalIndexedDB(descriptor: PropertyDescriptor | undefined): () => void {
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'indexedDB');
    if (descriptor) Object.defineProperty(globalThis, 'indexedDB', { ...descriptor, configurable: true });
    else delete (globalThis as { indexedDB?: IDBFactory }).indexedDB;
    return () => Object.defineProperty(globalThis, 'indexedDB', saved as PropertyDescriptor);
  }

  it('uses IndexedDB when it opens', async () => {
    const opened = await openDurableStore(NAME, { indexedDB: freshIdb() });
    track(opened.store);
    assert.equal(opened.degraded, false);
    assert.ok(opened.store instanceof IdbStore);
  });

  it('falls back to a MemoryStore when there is no indexedDB', async () => {
    const restore = withoutGlobalIndexedDB(undefined);
    try {
      const opened = await openDurableStore(NAME);
      assert.equal(opened.degraded, true);
      assert.ok(opened.store instanceof MemoryStore);
      assert.ok(opened.degraded && opened.error.code === StoreErrorCode.Unavailable);
      assert.match(opened.degraded ? opened.reason : '', /^STORE_UNAVAILABLE: /);
    } finally {
      restore();
    }
  });

  it('falls back to a MemoryStore when touching indexedDB throws SecurityError (sandboxed frame)', async () => {
    const restore = withoutGlobalIndexedDB({
      get() {
        throw new DOMException('denied', 'SecurityError');
      },
    });
    try {
      const opened = await openDurableStore(NAME);
      assert.ok(opened.degraded && opened.error.code === StoreErrorCode.Unavailable);
      assert.equal((opened.error.cause as DOMException).name, 'SecurityError');
    } finally {
      restore();
    }
  });

  it('falls back to a MemoryStore when open() throws SecurityError (private mode)', async () => {
    const factory: IdbFactory = {
      open: () => {
        throw new DOMException('denied', 'SecurityError');
      },
    };
    const opened = await openDurableStore(NAME, { indexedDB: factory });
    assert.ok(opened.degraded && opened.store instanceof MemoryStore);
    assert.equal(opened.degraded && opened.error.code, StoreErrorCode.Unavailable);
  });

  it('falls back to a MemoryStore when open() hangs', async () => {
    const opened = await openDurableStore(NAME, { indexedDB: { open: () => stalledRequest() }, timeoutMs: 20 });
    assert.equal(opened.degraded && opened.error.code, StoreErrorCode.OpenTimeout);
  });
});
