import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, ProtocolError } from '@synkey/protocol';
import { mintToken } from '@synkey/server';
import type { ClientEvent } from '../src/browser/api';
import { EngineHost, type Session } from '../src/browser/engine-host';
import type { OpenStore } from '../src/browser/shared-engine';
import { MemoryStore } from '../src/memory-store';
import { ChannelSpace } from './browser-channels';
import { configFor, memoryOpenStore, recording, tabsPerTest } from './browser-tabs';
import { sleep, waitFor } from './helpers';
import { freshServer, SECRET } from './server-harness';

const tabs = tabsPerTest();

async function online(session: Session): Promise<void> {
  await waitFor(async () => (await session.info()).state === 'online', 5000, 'the engine is online');
}

/** An openStore that waits for `open()` before the engine may start (so every session is there first). */
function gatedStore() {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const openStore: OpenStore = async (name) => {
    await gate;
    return memoryOpenStore(name);
  };
  return { openStore, open };
}

/** A session's token source that counts its calls. */
function tokenSource(user: string, behaviour: 'ok' | 'hang' | 'fail' = 'ok') {
  const source = {
    calls: 0,
    getToken: async (): Promise<string> => {
      source.calls++;
      if (behaviour === 'hang') return new Promise<string>(() => undefined);
      if (behaviour === 'fail') throw new ProtocolError(ErrorCode.Unavailable, 'the page cannot give a token');
      return mintToken(SECRET, user);
    },
    events: [] as ClientEvent[],
    onEvent: (e: ClientEvent) => {
      source.events.push(e);
    },
  };
  return source;
}

describe('EngineHost', () => {
  it('takes the token from the newest session that has getToken; older sessions are not asked', async () => {
    const server = await freshServer();
    const gate = gatedStore();
    const host = tabs().host({ openStore: gate.openStore, shared: false });
    const older = tokenSource('alice');
    const newer = tokenSource('alice');
    tabs().open(host, configFor(server.url, 'alice'), older);
    const s = tabs().open(host, configFor(server.url, 'alice'), newer);
    gate.open();
    await online(s);
    assert.equal(newer.calls, 1);
    assert.equal(older.calls, 0);
    assert.equal(host.size, 1, 'one engine for both sessions');
  });

  it('skips a session whose getToken hangs, after callTimeoutMs, and takes the next newest', async () => {
    const server = await freshServer();
    const gate = gatedStore();
    const host = tabs().host({ openStore: gate.openStore, shared: false, callTimeoutMs: 120 });
    const working = tokenSource('alice');
    const hanging = tokenSource('alice', 'hang');
    tabs().open(host, configFor(server.url, 'alice'), working);
    const s = tabs().open(host, configFor(server.url, 'alice'), hanging);
    const started = Date.now();
    gate.open();
    await online(s);
    assert.ok(Date.now() - started >= 100, 'waited for the hanging source first');
    assert.equal(hanging.calls, 1);
    assert.equal(working.calls, 1);
  });

  it("skips a session whose getToken fails; a session's fixed token counts as a token source", async () => {
    const server = await freshServer();
    const gate = gatedStore();
    const host = tabs().host({ openStore: gate.openStore, shared: false });
    const oldest = tokenSource('alice');
    tabs().open(host, configFor(server.url, 'alice'), oldest);
    const fixed = tokenSource('alice');
    tabs().open(host, configFor(server.url, 'alice', { token: await mintToken(SECRET, 'alice') }), {
      onEvent: fixed.onEvent,
    });
    const failing = tokenSource('alice', 'fail');
    const s = tabs().open(host, configFor(server.url, 'alice'), failing);
    gate.open();
    await online(s);
    assert.equal(failing.calls, 1);
    assert.equal(oldest.calls, 0, 'the fixed token of the newer session was used');
  });

  it('sessions of different users get different engines, each with its own connection', async () => {
    const server = await freshServer();
    const host = tabs().host();
    const alice = tabs().open(host, configFor(server.url, 'alice'), recording('alice'));
    const bob = tabs().open(host, configFor(server.url, 'bob'), recording('bob'));
    const alice2 = tabs().open(host, configFor(server.url, 'alice'), recording('alice'));
    assert.equal(host.size, 2);
    await Promise.all([online(alice), online(bob), online(alice2)]);
    assert.equal((await alice.info()).user, 'alice');
    assert.equal((await bob.info()).user, 'bob');
    assert.equal((await alice2.info()).owner, true, 'the same engine as the first alice session');
    assert.equal(server.connections('alice'), 1);
    assert.equal(server.connections('bob'), 1);
    await alice.close();
    assert.equal(host.size, 2, "alice's engine stays while a session uses it");
    await sleep(50);
    assert.equal(server.connections('alice'), 1);
    await alice2.close();
    assert.equal(host.size, 1);
    await waitFor(() => server.connections('alice') === 0, 5000, "alice's engine closed");
    assert.equal(server.connections('bob'), 1);
  });

  it('sessions without a user get an engine each', async () => {
    const server = await freshServer();
    const host = tabs().host({ shared: false });
    const a = tabs().open(host, { server: server.url, transport: 'ws' }, recording('alice'));
    const b = tabs().open(host, { server: server.url, transport: 'ws' }, recording('alice'));
    assert.equal(host.size, 2);
    await Promise.all([online(a), online(b)]);
    assert.equal(server.connections('alice'), 2);
  });

  it('a session with neither token nor getToken is refused with INVALID', () => {
    const host = tabs().host();
    assert.throws(
      () => host.open({ server: 'http://127.0.0.1:1', user: 'alice' }, { onEvent: () => undefined }),
      (e: unknown) => e instanceof ProtocolError && e.code === ErrorCode.Invalid,
    );
    assert.equal(host.size, 0);
  });

  it("storage 'memory' is reported by info() and a storage event, without opening the durable store", async () => {
    const server = await freshServer();
    let opened = 0;
    const openStore: OpenStore = async (name) => {
      opened++;
      return memoryOpenStore(name);
    };
    const host = tabs().host({ openStore });
    const hooks = recording('alice');
    const s = tabs().open(host, configFor(server.url, 'alice', { storage: 'memory' }), hooks);
    await online(s);
    const info = await s.info();
    assert.equal(info.storage, 'memory');
    assert.equal(info.storageReason, 'memory storage was asked for');
    assert.equal(opened, 0);
    assert.ok(hooks.events.some((e) => e.type === 'storage' && e.storage === 'memory'));
    // A follower tab reports the owner's storage.
    const follower = tabs().open(tabs().host({ openStore }), configFor(server.url, 'alice'), recording('alice'));
    const followerInfo = await follower.info();
    assert.equal(followerInfo.owner, false);
    assert.equal(followerInfo.storage, 'memory');
  });

  it('a durable store reports indexeddb; a degraded one reports memory with its reason', async () => {
    const server = await freshServer();
    const durable = tabs().open(tabs().host({ shared: false }), configFor(server.url, 'alice'), recording('alice'));
    await online(durable);
    assert.equal((await durable.info()).storage, 'indexeddb');
    const degraded: OpenStore = async () => ({
      store: new MemoryStore(),
      degraded: true,
      reason: 'OPEN_FAILED: no IndexedDB',
    });
    const hooks = recording('bob');
    const s = tabs().open(tabs().host({ openStore: degraded, shared: false }), configFor(server.url, 'bob'), hooks);
    await online(s);
    const info = await s.info();
    assert.equal(info.storage, 'memory');
    assert.equal(info.storageReason, 'OPEN_FAILED: no IndexedDB');
    assert.ok(
      hooks.events.some((e) => e.type === 'storage' && e.storage === 'memory' && e.reason === info.storageReason),
    );
  });

  it('a closed session gets no more events while the other session of the engine goes on; closing twice is harmless', async () => {
    const server = await freshServer();
    const host = tabs().host();
    const first = recording('alice');
    const second = recording('alice');
    const a = tabs().open(host, configFor(server.url, 'alice'), first);
    const b = tabs().open(host, configFor(server.url, 'alice'), second);
    await online(a);
    await a.close();
    await a.close();
    const seen = first.events.length;
    await b.createConversation({ kind: 2, members: ['bob'] });
    await waitFor(() => second.events.some((e) => e.type === 'conversations'), 5000, 'b got the event');
    assert.equal(first.events.length, seen);
    assert.equal((await b.info()).owner, true);
  });
});

describe('EngineHost without usable Web Locks', () => {
  it('owns the connection itself when the lock manager refuses (e.g. an opaque origin)', async () => {
    const server = await freshServer();
    const refusing = {
      request: () => Promise.reject(new DOMException('locks are not allowed here', 'SecurityError')),
      query: () => Promise.reject(new DOMException('locks are not allowed here', 'SecurityError')),
    } as unknown as LockManager;
    const space = new ChannelSpace();
    const host = new EngineHost({ locks: refusing, channel: (name) => space.open(name), openStore: memoryOpenStore });
    const session = host.open(configFor(server.url, 'nolocks'), recording('nolocks'));
    try {
      await online(session);
      assert.equal((await session.info()).owner, true);
      assert.equal(server.connections('nolocks'), 1);
    } finally {
      await session.close();
      space.closeAll();
    }
  });
});
