import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConvKind } from '@synkey/protocol';
import type { ClientEvent } from '../src/browser/api';
import type { Engine, EngineEvent } from '../src/engine';
import { MemoryStore } from '../src/memory-store';
import type { ChatMessage } from '../src/state';
import { configFor, recording, tabsPerTest } from './browser-tabs';
import { waitFor } from './helpers';
import { engineFor, freshServer, stopServer, tempDir } from './server-harness';

const tabs = tabsPerTest();

/** The messages with `cmid` the recorded events carried. */
function copies(events: readonly (EngineEvent | ClientEvent)[], cmid: string): ChatMessage[] {
  return events.flatMap((e) => (e.type === 'messages' ? e.messages.filter((m) => m.cmid === cmid) : []));
}

function recorded(engine: Engine): EngineEvent[] {
  const events: EngineEvent[] = [];
  engine.subscribe((e) => void events.push(e));
  return events;
}

/** A server that is down, and how to bring it back on the same port and database. */
async function serverDown() {
  const dbPath = join(tempDir(), 'chat.db');
  const first = await freshServer({ dbPath });
  const { port, url } = first;
  const bob = engineFor(url, 'bob');
  await waitFor(() => bob.state === 'online', 10_000, 'bob online');
  const conv = await bob.createConversation({ kind: ConvKind.Direct, members: ['alice'] });
  await stopServer(first);
  return { url, conv: conv.id, bob, back: () => freshServer({ dbPath, port }) };
}

describe('a first visit offline', () => {
  it('a message written before the first connect shows its sender at once when the user is known', async () => {
    const { url, conv } = await serverDown();
    const alice = engineFor(url, 'alice', { user: 'alice', store: new MemoryStore() });
    const events = recorded(alice);
    const cmid = await alice.send(conv, { text: 'written offline' });
    assert.deepEqual(
      copies(events, cmid).map((m) => [m.sender, m.state]),
      [['alice', 'sending']],
    );
    assert.equal((await alice.messages(conv)).find((m) => m.cmid === cmid)?.sender, 'alice');
    assert.equal(alice.user, 'alice');
  });

  it('without the user, the message is shown again with its sender once AUTH_OK names the user, before it is sent', async () => {
    const { url, conv, back } = await serverDown();
    const alice = engineFor(url, 'alice', { store: new MemoryStore() });
    const events = recorded(alice);
    const cmid = await alice.send(conv, { text: 'written offline' });
    assert.deepEqual(
      copies(events, cmid).map((m) => m.sender),
      [''],
    );
    await back();
    const stored = async () => (await alice.messages(conv)).find((m) => m.cmid === cmid)?.id !== undefined;
    await waitFor(stored, 10_000, 'the message to be stored on the server');
    const shown = copies(events, cmid).map((m) => [m.sender, m.state]);
    assert.deepEqual(shown[1], ['alice', 'sending'], 'shown again with its sender before it was sent');
    assert.ok(shown.slice(1).every(([sender]) => sender === 'alice'));
    assert.equal((await alice.messages(conv)).find((m) => m.cmid === cmid)?.sender, 'alice');
  });

  it("through the engine host, a page's session gives the user of its config to the engine before any connect", async () => {
    const { url, conv } = await serverDown();
    const hooks = recording('alice');
    const session = tabs().open(tabs().host(), configFor(url, 'alice'), hooks);
    const cmid = await session.send(conv, { text: 'written offline' });
    assert.deepEqual(
      copies(hooks.events, cmid).map((m) => m.sender),
      ['alice'],
    );
    assert.equal((await session.info()).user, 'alice');
  });
});

describe('a read made offline', () => {
  it('is sent after a reload (a new engine on the same store), not only after a reconnect', async () => {
    const dbPath = join(tempDir(), 'chat.db');
    const first = await freshServer({ dbPath });
    const { port, url } = first;
    const alice = engineFor(url, 'alice');
    const store = new MemoryStore();
    const bob = engineFor(url, 'bob', { store });
    const conv = await alice.createConversation({ kind: ConvKind.Direct, members: ['bob'] });
    for (const text of ['a', 'b', 'c']) await alice.send(conv.id, { text });
    await waitFor(async () => (await bob.conversations())[0]?.unread === 3, 10_000, 'bob to get them');
    await stopServer(first);
    await waitFor(() => bob.state !== 'online', 10_000, 'bob offline');

    await bob.markRead(conv.id);
    assert.equal((await bob.conversations())[0]?.unread, 0, 'read locally at once');
    await bob.close();

    const second = await freshServer({ dbPath, port });
    const bobOnServer = () => second.store.listConversations('alice')[0]?.members.find((m) => m.user === 'bob');
    assert.equal(bobOnServer()?.read ?? 0, 0);
    const reloaded = engineFor(url, 'bob', { store });
    await waitFor(() => bobOnServer()?.read === 3, 10_000, "bob's READ to reach the server");
    await waitFor(async () => (await alice.messages(conv.id)).every((m) => m.state === 'read'), 10_000);
    await waitFor(async () => (await store.meta('pendingReads')) === '[]', 10_000, 'nothing left to send');
    await reloaded.close();
  });
});
