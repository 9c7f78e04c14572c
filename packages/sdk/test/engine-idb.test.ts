import 'fake-indexeddb/auto';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { ConvKind, decodeBody, Op } from '@synkey/protocol';
import { openIdbStore } from '../src/idb/idb-store';
import { MemoryStore } from '../src/memory-store';
import { waitFor } from './helpers';
import { cleanup, engineFor, freshServer, stopServer, tappedWebSocket, tempDir } from './server-harness';

afterEach(cleanup);

let n = 0;
const dbName = () => `synkey:engine-idb-${process.pid}-${++n}`;

describe('engine on IndexedDB (fake-indexeddb) against the server', () => {
  it('catches up 1,000 missed messages into IndexedDB and, restarted on the same database, resumes from its stored SynKey', async () => {
    const server = await freshServer();
    const name = dbName();
    const aliceStore = new MemoryStore();
    const alice = engineFor(server.url, 'alice', { store: aliceStore });
    let store = await openIdbStore(name);
    let bob = engineFor(server.url, 'bob', { store, deviceId: 'bob-laptop' });
    const conv = await alice.createConversation({ kind: ConvKind.Direct, members: ['bob'] });
    await waitFor(async () => (await store.conversations()).length === 1, 10_000, 'bob sees the conversation');
    await bob.close();
    await store.close();

    for (let i = 0; i < 1000; i++) await alice.send(conv.id, { text: `m${i}` });
    await waitFor(async () => (await aliceStore.outbox()).length === 0, 60_000, 'alice to drain her outbox');
    const newest = server.store.maxSeq('bob');

    store = await openIdbStore(name);
    bob = engineFor(server.url, 'bob', { store, deviceId: 'bob-laptop' });
    await waitFor(async () => (await store.synKey()).seq === newest, 30_000, 'bob to catch up into IndexedDB');
    const stored = await store.messages(conv.id, { limit: 2000 });
    assert.deepEqual(
      stored.map((m) => m.text),
      Array.from({ length: 1000 }, (_, i) => `m${i}`),
    );
    await bob.close();
    await store.close();

    const syncs: { seq: number }[] = [];
    const tapped = tappedWebSocket({
      outbound: (f) => {
        if (f.op === Op.SYNC) syncs.push(decodeBody(Op.SYNC, f.body));
      },
    });
    store = await openIdbStore(name);
    bob = engineFor(server.url, 'bob', { store, deviceId: 'bob-laptop', WebSocket: tapped });
    await waitFor(() => bob.state === 'online' && syncs.length > 0, 10_000, 'bob back online');
    assert.equal(syncs[0]?.seq, newest, 'the restarted engine syncs from its stored SynKey, not from 0');
    assert.equal((await store.messages(conv.id, { limit: 2000 })).length, 1000);
    await bob.close();
    await store.close();
  });

  it('messages queued while the server is down survive an engine restart on the same database and go out exactly once', async () => {
    const dbPath = join(tempDir(), 'server.db');
    let server = await freshServer({ dbPath });
    const port = server.port;
    const name = dbName();
    let store = await openIdbStore(name);
    let alice = engineFor(server.url, 'alice', { store });
    const conv = await alice.createConversation({ kind: ConvKind.Direct, members: ['bob'] });
    await stopServer(server);
    const cmids = [];
    for (const text of ['one', 'two', 'three']) cmids.push(await alice.send(conv.id, { text }));
    await alice.close();
    await store.close();

    server = await freshServer({ dbPath, port });
    store = await openIdbStore(name);
    assert.deepEqual(
      (await store.outbox()).map((e) => e.cmid),
      cmids,
      'the outbox survived in IndexedDB',
    );
    alice = engineFor(server.url, 'alice', { store });
    await waitFor(async () => (await store.outbox()).length === 0, 30_000, 'the outbox to drain');
    assert.deepEqual(
      server.store.history('bob', { conv: conv.id }).msgs.map((m) => m.text),
      ['one', 'two', 'three'],
    );
    await alice.close();
    await store.close();
  });
});
