import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReceiptKind, type SyncEvent } from '@synkey/protocol';
import { MemoryStore } from '../src/memory-store';
import { messageState } from '../src/state';
import type { OutboxEntry } from '../src/store';
import { directConv, msg } from './fixtures';

const me = 'alice';
const start = { epoch: 0, seq: 0 };

function outboxEntry(cmid: string, conv = 1): OutboxEntry {
  return { cmid, conv, kind: 1, text: 'hi', createdAt: 1, state: 'sending' };
}

async function seeded(): Promise<MemoryStore> {
  const store = new MemoryStore();
  await store.applySync([{ conv: directConv(1, me, 'bob') }], { epoch: 9, seq: 1 }, { expected: start, me });
  return store;
}

describe('MemoryStore.applySync', () => {
  it('applies events and the new SynKey together', async () => {
    const store = await seeded();
    const events: SyncEvent[] = [{ msg: msg(1, 1, 'bob') }, { msg: msg(1, 2, 'bob') }];
    const changes = await store.applySync(events, { epoch: 9, seq: 3 }, { expected: { epoch: 9, seq: 1 }, me });
    assert.deepEqual(await store.synKey(), { epoch: 9, seq: 3 });
    assert.deepEqual(changes?.convs, [1]);
    assert.deepEqual(
      changes?.messages.get(1)?.map((m) => m.convSeq),
      [1, 2],
    );
    const conv = await store.conversation(1);
    assert.equal(conv?.lastSeq, 2);
    assert.equal(conv?.unread, 2);
    assert.equal(conv?.last?.convSeq, 2);
  });

  it('refuses a page when the stored SynKey is not the one the page follows', async () => {
    const store = await seeded();
    const changes = await store.applySync(
      [{ msg: msg(1, 1, 'bob') }],
      { epoch: 9, seq: 5 },
      {
        expected: { epoch: 9, seq: 4 },
        me,
      },
    );
    assert.equal(changes, undefined);
    assert.deepEqual(await store.synKey(), { epoch: 9, seq: 1 });
    assert.deepEqual(await store.messages(1, { limit: 10 }), []);
  });

  it('commits nothing, not even the SynKey, when an event in the page cannot be applied', async () => {
    const store = await seeded();
    const broken = { conv: { ...directConv(1, me, 'bob'), members: null } } as unknown as SyncEvent;
    await assert.rejects(
      store.applySync(
        [{ msg: msg(1, 1, 'bob') }, broken],
        { epoch: 9, seq: 3 },
        { expected: { epoch: 9, seq: 1 }, me },
      ),
    );
    assert.deepEqual(await store.synKey(), { epoch: 9, seq: 1 });
    assert.deepEqual(await store.messages(1, { limit: 10 }), []);
    assert.equal((await store.conversation(1))?.lastSeq, 0);
  });

  it('applying the same events twice is a no-op', async () => {
    const store = await seeded();
    const events: SyncEvent[] = [
      { msg: msg(1, 1, 'bob') },
      { receipt: { conv: 1, user: 'bob', kind: ReceiptKind.Read, upTo: 1 } },
      { conv: directConv(1, me, 'bob') },
    ];
    await store.apply(events, me);
    const before = { conv: await store.conversation(1), msgs: await store.messages(1, { limit: 10 }) };
    const again = await store.apply(events, me);
    assert.deepEqual(again.convs, []);
    assert.equal(again.messages.size, 0);
    assert.deepEqual({ conv: await store.conversation(1), msgs: await store.messages(1, { limit: 10 }) }, before);
  });
});

describe('event semantics', () => {
  it('stores a message once by id and keeps a cmid learned from either copy', async () => {
    const store = await seeded();
    await store.apply([{ msg: msg(1, 1, me, { cmid: 'c1' }) }], me);
    const { cmid: _, ...withoutCmid } = msg(1, 1, me);
    await store.apply([{ msg: withoutCmid }], me);
    const stored = await store.messages(1, { limit: 10 });
    assert.equal(stored.length, 1);
    assert.equal(stored[0]?.cmid, 'c1');
  });

  it('a message of mine whose cmid is in the outbox leaves the outbox as sent', async () => {
    const store = await seeded();
    await store.putOutbox(outboxEntry('c1'));
    await store.putOutbox(outboxEntry('c2'));
    const changes = await store.apply([{ msg: msg(1, 1, me, { cmid: 'c1' }) }], me);
    assert.deepEqual(changes.sent, ['c1']);
    assert.deepEqual(
      (await store.outbox()).map((e) => e.cmid),
      ['c2'],
    );
  });

  it('a message from someone else never takes an outbox entry, even with the same cmid', async () => {
    const store = await seeded();
    await store.putOutbox(outboxEntry('c1'));
    const changes = await store.apply([{ msg: msg(1, 1, 'bob', { cmid: 'c1' }) }], me);
    assert.deepEqual(changes.sent, []);
    assert.equal((await store.outbox()).length, 1);
  });

  it('receipts move my messages to delivered, then read, and report the ones that changed', async () => {
    const store = await seeded();
    await store.apply(
      [1, 2, 3].map((s) => ({ msg: msg(1, s, me) })),
      me,
    );
    const delivered = await store.apply(
      [{ receipt: { conv: 1, user: 'bob', kind: ReceiptKind.Delivered, upTo: 2 } }],
      me,
    );
    assert.deepEqual(
      delivered.messages.get(1)?.map((m) => m.convSeq),
      [1, 2],
    );
    let conv = await store.conversation(1);
    const states = async () => (await store.messages(1, { limit: 10 })).map((m) => messageState(m, conv, me));
    assert.deepEqual(await states(), ['delivered', 'delivered', 'sent']);
    await store.apply([{ receipt: { conv: 1, user: 'bob', kind: ReceiptKind.Read, upTo: 3 } }], me);
    conv = await store.conversation(1);
    assert.deepEqual(await states(), ['read', 'read', 'read']);
  });

  it('positions never move backwards', async () => {
    const store = await seeded();
    await store.apply([{ receipt: { conv: 1, user: 'bob', kind: ReceiptKind.Read, upTo: 5 } }], me);
    const changes = await store.apply([{ receipt: { conv: 1, user: 'bob', kind: ReceiptKind.Read, upTo: 2 } }], me);
    assert.deepEqual(changes.convs, []);
    const bob = (await store.conversation(1))?.members.find((m) => m.user === 'bob');
    assert.deepEqual(bob, { user: 'bob', delivered: 5, read: 5 });
  });

  it('unread counts messages after my read position; my own message reads everything before it', async () => {
    const store = await seeded();
    await store.apply(
      [1, 2, 3].map((s) => ({ msg: msg(1, s, 'bob') })),
      me,
    );
    assert.equal((await store.conversation(1))?.unread, 3);
    await store.apply([{ receipt: { conv: 1, user: me, kind: ReceiptKind.Read, upTo: 2 } }], me);
    assert.equal((await store.conversation(1))?.unread, 1);
    await store.apply([{ msg: msg(1, 4, me) }], me);
    assert.equal((await store.conversation(1))?.unread, 0);
    await store.apply([{ msg: msg(1, 5, 'bob') }], me);
    assert.equal((await store.conversation(1))?.unread, 1);
  });

  it('a conversation snapshot keeps the further of local and incoming positions', async () => {
    const store = await seeded();
    await store.apply([{ receipt: { conv: 1, user: 'bob', kind: ReceiptKind.Read, upTo: 4 } }], me);
    const snapshot = { ...directConv(1, me, 'bob'), title: 'renamed', lastSeq: 6 };
    await store.apply([{ conv: snapshot }], me);
    const conv = await store.conversation(1);
    assert.equal(conv?.title, 'renamed');
    assert.equal(conv?.lastSeq, 6);
    assert.deepEqual(
      conv?.members.find((m) => m.user === 'bob'),
      { user: 'bob', delivered: 4, read: 4 },
    );
  });
});

describe('MemoryStore', () => {
  it('pages messages newest first below `before`, returned ascending', async () => {
    const store = await seeded();
    await store.apply(
      Array.from({ length: 10 }, (_, i) => ({ msg: msg(1, i + 1, 'bob') })),
      me,
    );
    const seqs = async (before: number | undefined, limit: number) =>
      (await store.messages(1, { before, limit })).map((m) => m.convSeq);
    assert.deepEqual(await seqs(undefined, 3), [8, 9, 10]);
    assert.deepEqual(await seqs(8, 3), [5, 6, 7]);
    assert.deepEqual(await seqs(3, 5), [1, 2]);
  });

  it('reset drops conversations and messages, keeps the outbox and starts the new epoch at 0', async () => {
    const store = await seeded();
    await store.apply([{ msg: msg(1, 1, 'bob') }], me);
    await store.putOutbox(outboxEntry('c9'));
    await store.reset(42);
    assert.deepEqual(await store.synKey(), { epoch: 42, seq: 0 });
    assert.deepEqual(await store.conversations(), []);
    assert.deepEqual(await store.messages(1, { limit: 10 }), []);
    assert.equal((await store.outbox()).length, 1);
  });

  it('updateOutbox never resurrects an entry that left the outbox', async () => {
    const store = await seeded();
    await store.putOutbox(outboxEntry('c1'));
    await store.apply([{ msg: msg(1, 1, me, { cmid: 'c1' }) }], me);
    assert.equal(await store.updateOutbox('c1', { state: 'failed' }), undefined);
    assert.deepEqual(await store.outbox(), []);
  });

  it('hands out copies: changing a returned value does not change the store', async () => {
    const store = await seeded();
    const conv = await store.conversation(1);
    if (conv) conv.title = 'mutated';
    assert.equal((await store.conversation(1))?.title, undefined);
  });
});
