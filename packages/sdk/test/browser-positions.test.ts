import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ConvKind } from '@synkey/protocol';
import { mintToken } from '@synkey/server';
import type { ClientEvent } from '../src/browser/api';
import { type WorkerApi, workerApi } from '../src/browser/expose-host';
import { expose, proxy, type Releasable, type Remote, releaseProxy, wrap } from '../src/browser/rpc';
import { MessageList } from '../src/browser/watch';
import { configFor, tabsPerTest } from './browser-tabs';
import { waitFor } from './helpers';
import { engineFor, freshServer, SECRET } from './server-harness';

const tabs = tabsPerTest();

const ports: MessagePort[] = [];
afterEach(() => {
  for (const p of ports.splice(0)) p.close();
});

/** A page's view of a worker serving `api` over a MessageChannel: everything it gets was structured-cloned. */
function page(api: WorkerApi): Remote<WorkerApi> {
  const { port1, port2 } = new MessageChannel();
  ports.push(port1, port2);
  expose(api, port1);
  return wrap<WorkerApi>(port2);
}

/** Counts what the events that reached the page carried. */
function tally(events: readonly ClientEvent[]) {
  return {
    messageCopies: events.reduce((n, e) => n + (e.type === 'messages' ? e.messages.length : 0), 0),
    positions: events.filter((e) => e.type === 'positions').length,
  };
}

const COUNT = 300;

describe('receipts cross to the page as member positions, not as message copies', () => {
  it(`marking ${COUNT} messages read sends the page one positions update, and a MessageList derives every state from it`, async () => {
    const server = await freshServer();
    const alice = engineFor(server.url, 'alice');
    const remote = page(workerApi(tabs().host()));
    const events: ClientEvent[] = [];
    const bob = await remote.open(
      configFor(server.url, 'bob'),
      proxy(async () => mintToken(SECRET, 'bob')),
      proxy((event: ClientEvent) => void events.push(event)),
    );
    const conv = await alice.createConversation({ kind: ConvKind.Direct, members: ['bob'] });
    for (let i = 0; i < COUNT; i++) await alice.send(conv.id, { text: `m${i}` });
    await waitFor(
      async () => (await bob.conversations()).find((c) => c.id === conv.id)?.unread === COUNT,
      30_000,
      `bob to hold ${COUNT} unread messages`,
    );

    const list = new MessageList();
    list.load(await bob.messages(conv.id, { limit: 200 }));
    const loaded = list.list();
    assert.equal(loaded.length, 200);
    assert.ok(loaded.every((m) => m.state === 'delivered'));

    events.length = 0;
    await bob.markRead(conv.id);
    await waitFor(() => tally(events).positions > 0, 5000, 'the positions update to reach the page');
    assert.deepEqual(tally(events), { messageCopies: 0, positions: 1 });
    for (const e of events) {
      if (e.type === 'positions') assert.equal(list.positions(e.members, e.user), true);
      if (e.type === 'messages') list.merge(e.messages, e.removed);
    }
    assert.ok(
      list.list().every((m) => m.state === 'read'),
      'every loaded message is read',
    );

    // The other way: alice reads what bob sent, and bob's page sees his messages read.
    const mine = [await bob.send(conv.id, { text: 'one' }), await bob.send(conv.id, { text: 'two' })];
    await waitFor(
      () =>
        events.some(
          (e) => e.type === 'messages' && e.messages.some((m) => m.cmid === mine[1] && m.state !== 'sending'),
        ),
      5000,
      "bob's messages to be stored",
    );
    for (const e of events.splice(0)) if (e.type === 'messages') list.merge(e.messages, e.removed);
    await waitFor(async () => (await alice.conversations())[0]?.unread === 2, 5000, 'alice to get them');
    await alice.markRead(conv.id);
    await waitFor(
      () => {
        for (const e of events.splice(0)) {
          if (e.type === 'positions') list.positions(e.members, e.user);
          if (e.type === 'messages') list.merge(e.messages, e.removed);
        }
        return (
          list.list().filter((m) => m.cmid !== undefined && mine.includes(m.cmid) && m.state === 'read').length === 2
        );
      },
      5000,
      "bob's page to show his messages read",
    );
    await bob.close();
    (bob as unknown as Releasable)[releaseProxy]();
  });
});
