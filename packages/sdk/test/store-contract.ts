import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ReceiptKind, type SyncEvent } from '@synkey/protocol';
import { messageState } from '../src/state';
import type { Store } from '../src/store';
import { directConv, msg, outboxEntry } from './fixtures';

const me = 'alice';
const start = { epoch: 0, seq: 0 };

/**
 * The behaviour every {@link Store} must have: one suite per store kind. `make` opens a new, empty
 * store; every test opens its own, and the suite closes it after the test.
 */
export function storeContract(kind: string, make: () => Promise<Store>): void {
  describe(`${kind}: store contract`, () => {
    const opened: Store[] = [];
    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
    });

    async function fresh(): Promise<Store> {
      const store = await make();
      opened.push(store);
      return store;
    }

    /** A store holding the direct conversation 1 between me and bob, at SynKey (9, 1). */
    async function seeded(): Promise<Store> {
      const store = await fresh();
      await store.applySync([{ conv: directConv(1, me, 'bob') }], { epoch: 9, seq: 1 }, { expected: start, me });
      return store;
    }

    describe('applySync', () => {
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
          { expected: { epoch: 9, seq: 4 }, me },
        );
        assert.equal(changes, undefined);
        assert.deepEqual(await store.synKey(), { epoch: 9, seq: 1 });
        assert.deepEqual(await store.messages(1, { limit: 10 }), []);
      });

      it('of two pages racing from the same SynKey, exactly one is applied', async () => {
        const store = await seeded();
        const expected = { epoch: 9, seq: 1 };
        const [a, b] = await Promise.all([
          store.applySync([{ msg: msg(1, 1, 'bob') }], { epoch: 9, seq: 2 }, { expected, me }),
          store.applySync([{ msg: msg(1, 2, 'bob') }], { epoch: 9, seq: 2 }, { expected, me }),
        ]);
        assert.deepEqual([a !== undefined, b !== undefined], [true, false]);
        assert.deepEqual(
          (await store.messages(1, { limit: 10 })).map((m) => m.convSeq),
          [1],
        );
        assert.deepEqual(await store.synKey(), { epoch: 9, seq: 2 });
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
        assert.deepEqual(again.positions, []);
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

      it('receipts move my messages to delivered, then read, and report the risen positions, not the messages', async () => {
        const store = await seeded();
        await store.apply(
          [1, 2, 3].map((s) => ({ msg: msg(1, s, me) })),
          me,
        );
        const delivered = await store.apply(
          [{ receipt: { conv: 1, user: 'bob', kind: ReceiptKind.Delivered, upTo: 2 } }],
          me,
        );
        assert.deepEqual(delivered.positions, [1]);
        assert.equal(delivered.messages.size, 0, 'no message copies for a position change');
        assert.deepEqual(delivered.records.get(1)?.members, (await store.conversation(1))?.members);
        let conv = await store.conversation(1);
        const states = async () => (await store.messages(1, { limit: 10 })).map((m) => messageState(m, conv, me));
        assert.deepEqual(await states(), ['delivered', 'delivered', 'sent']);
        await store.apply([{ receipt: { conv: 1, user: 'bob', kind: ReceiptKind.Read, upTo: 3 } }], me);
        conv = await store.conversation(1);
        assert.deepEqual(await states(), ['read', 'read', 'read']);
      });

      it('reports positions only for a conversation that was stored before the write', async () => {
        const store = await fresh();
        const created = await store.apply(
          [{ conv: directConv(1, me, 'bob') }, { receipt: { conv: 1, user: 'bob', kind: ReceiptKind.Read, upTo: 1 } }],
          me,
        );
        assert.deepEqual(created.convs, [1]);
        assert.deepEqual(created.positions, []);
        const moved = await store.apply([{ msg: msg(1, 2, 'bob') }], me);
        assert.deepEqual(moved.positions, [1], "bob's own message moves his positions");
        assert.deepEqual(
          moved.messages.get(1)?.map((m) => m.convSeq),
          [2],
        );
      });

      it('applies a page that touches one message and conversation several times as the events in turn would', async () => {
        const store = await seeded();
        await store.putOutbox(outboxEntry('c1'));
        await store.putOutbox(outboxEntry('c2'));
        const { cmid: _, ...plain } = msg(1, 1, me);
        const changes = await store.apply(
          [
            { msg: plain },
            { msg: msg(1, 1, me, { cmid: 'c1' }) },
            { msg: msg(1, 2, me, { cmid: 'c2' }) },
            { receipt: { conv: 1, user: 'bob', kind: ReceiptKind.Delivered, upTo: 1 } },
            { receipt: { conv: 1, user: 'bob', kind: ReceiptKind.Read, upTo: 2 } },
            { msg: msg(1, 3, 'bob') },
          ],
          me,
        );
        assert.deepEqual(changes.sent, ['c1', 'c2']);
        assert.deepEqual(await store.outbox(), []);
        assert.deepEqual(
          changes.messages.get(1)?.map((m) => [m.convSeq, m.cmid]),
          [
            [1, 'c1'],
            [2, 'c2'],
            [3, undefined],
          ],
        );
        const conv = await store.conversation(1);
        assert.deepEqual(conv?.members, [
          { user: me, delivered: 2, read: 2 },
          { user: 'bob', delivered: 3, read: 3 },
        ]);
        assert.equal(conv?.lastSeq, 3);
        assert.equal(conv?.unread, 1);
        assert.deepEqual(
          (await store.messages(1, { limit: 10 })).map((m) => messageState(m, conv, me)),
          ['read', 'read', 'delivered'],
        );
      });

      it('finds stored messages again whose ids lie far apart, among many stored ones', async () => {
        const store = await seeded();
        const page = Array.from({ length: 150 }, (_, i) => ({ msg: msg(1, i + 1, 'bob') }));
        await store.apply(page, me);
        const again = await store.apply([{ msg: msg(1, 1, 'bob') }, { msg: msg(1, 150, 'bob') }], me);
        assert.equal(again.messages.size, 0);
        assert.deepEqual(again.convs, []);
        const edited = await store.apply([{ msg: msg(1, 1, 'bob') }, { msg: msg(1, 150, 'bob', { text: 'new' }) }], me);
        assert.deepEqual(
          edited.messages.get(1)?.map((m) => m.text),
          ['new'],
        );
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

    describe('reads, outbox and meta', () => {
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
        assert.deepEqual(await seqs(undefined, 0), []);
        assert.deepEqual(await store.messages(2, { limit: 10 }), []);
      });

      it('lists conversations by most recent activity', async () => {
        const store = await seeded();
        await store.apply([{ conv: directConv(2, me, 'carol') }, { conv: directConv(3, me, 'dave') }], me);
        await store.apply([{ msg: msg(2, 1, 'carol') }], me);
        assert.deepEqual(
          (await store.conversations()).map((c) => c.id),
          [2, 3, 1],
        );
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

      it('clear drops everything but meta values and returns the SynKey to (0, 0)', async () => {
        const store = await seeded();
        await store.setMeta('device', 'd1');
        await store.apply([{ msg: msg(1, 1, 'bob') }], me);
        await store.putOutbox(outboxEntry('c9'));
        await store.clear();
        assert.deepEqual(await store.synKey(), start);
        assert.deepEqual(await store.conversations(), []);
        assert.deepEqual(await store.messages(1, { limit: 10 }), []);
        assert.deepEqual(await store.outbox(), []);
        assert.equal(await store.meta('device'), 'd1');
      });

      it('meta values are strings by key, and no meta key reaches the SynKey', async () => {
        const store = await seeded();
        assert.equal(await store.meta('user'), undefined);
        await store.setMeta('user', 'alice');
        await store.setMeta('synKey', 'not a SynKey');
        assert.equal(await store.meta('user'), 'alice');
        assert.equal(await store.meta('synKey'), 'not a SynKey');
        assert.deepEqual(await store.synKey(), { epoch: 9, seq: 1 });
      });

      it('lists the outbox in cmid order (UUIDv7: creation order), whatever order it was written in', async () => {
        const store = await fresh();
        for (const [cmid, createdAt] of [
          ['0190-b', 2],
          ['0190-c', 1],
          ['0190-a', 3],
        ] as const) {
          await store.putOutbox(outboxEntry(cmid, 1, createdAt));
        }
        assert.deepEqual(
          (await store.outbox()).map((e) => e.cmid),
          ['0190-a', '0190-b', '0190-c'],
        );
      });

      it('updateOutbox patches an entry and drops an error set to undefined; removeOutbox says whether it existed', async () => {
        const store = await fresh();
        await store.putOutbox(outboxEntry('c1'));
        assert.deepEqual(await store.updateOutbox('c1', { state: 'failed', error: 'timeout' }), {
          ...outboxEntry('c1'),
          state: 'failed',
          error: 'timeout',
        });
        assert.deepEqual(await store.updateOutbox('c1', { state: 'sending', error: undefined }), outboxEntry('c1'));
        assert.deepEqual(await store.outboxEntry('c1'), outboxEntry('c1'));
        assert.equal(await store.removeOutbox('c1'), true);
        assert.equal(await store.removeOutbox('c1'), false);
        assert.equal(await store.outboxEntry('c1'), undefined);
      });

      it('keeps the file of an image entry with it; updateOutbox changes the upload state and keeps the file', async () => {
        const store = await seeded();
        const file = new Blob([new Uint8Array([1, 2, 3, 4])], { type: 'image/png' });
        const entry = {
          ...outboxEntry('c1'),
          kind: 2,
          file,
          upload: { mime: 'image/png', size: 4, width: 2, height: 1 },
        };
        await store.putOutbox(entry);
        const [listed] = await store.outbox();
        assert.ok(listed?.file);
        assert.deepEqual(new Uint8Array(await listed.file.arrayBuffer()), new Uint8Array([1, 2, 3, 4]));
        assert.deepEqual(listed?.upload, entry.upload);

        const upload = { ...entry.upload, id: 'up-1', chunkSize: 2, acked: [0] };
        const updated = await store.updateOutbox('c1', { upload });
        assert.deepEqual(updated?.upload, upload);
        assert.equal(await updated?.file?.text(), await file.text());
        const again = await store.outboxEntry('c1');
        assert.deepEqual(again?.upload, upload);
        assert.equal(again?.file?.type, 'image/png');
        assert.equal(again?.file?.size, 4);

        await store.apply([{ msg: msg(1, 1, me, { cmid: 'c1', kind: 2 }) }], me);
        assert.equal(await store.outboxEntry('c1'), undefined, 'the stored message took the entry and its file away');
      });

      it('removeOutbox drops an entry with its file; a text entry has no file', async () => {
        const store = await fresh();
        const file = new Blob(['voice'], { type: 'audio/webm' });
        await store.putOutbox({ ...outboxEntry('c1'), kind: 3, file, upload: { mime: 'audio/webm', size: 5 } });
        await store.putOutbox(outboxEntry('c2'));
        assert.equal((await store.outboxEntry('c2'))?.file, undefined);
        assert.equal(await store.removeOutbox('c1'), true);
        assert.equal(await store.outboxEntry('c1'), undefined);
        assert.deepEqual(
          (await store.outbox()).map((e) => e.cmid),
          ['c2'],
        );
      });

      it('updateOutbox never resurrects an entry that left the outbox', async () => {
        const store = await seeded();
        await store.putOutbox(outboxEntry('c1'));
        await store.apply([{ msg: msg(1, 1, me, { cmid: 'c1' }) }], me);
        assert.equal(await store.updateOutbox('c1', { state: 'failed' }), undefined);
        assert.deepEqual(await store.outbox(), []);
      });

      it('hands out copies: changing a returned or handed-in value does not change the store', async () => {
        const store = await seeded();
        const conv = await store.conversation(1);
        if (conv) conv.title = 'mutated';
        assert.equal((await store.conversation(1))?.title, undefined);
        const entry = outboxEntry('c1');
        await store.putOutbox(entry);
        entry.text = 'mutated';
        const listed = await store.outbox();
        if (listed[0]) listed[0].text = 'mutated too';
        assert.equal((await store.outboxEntry('c1'))?.text, 'hi');
        const changes = await store.apply([{ msg: msg(1, 1, 'bob') }], me);
        const reported = changes.messages.get(1)?.[0];
        if (reported) reported.text = 'mutated';
        assert.equal((await store.messages(1, { limit: 1 }))[0]?.text, 'm1');
      });
    });
  });
}
