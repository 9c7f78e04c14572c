import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  type BodyOf,
  ConvKind,
  ErrorCode,
  Limits,
  MsgKind,
  type Op,
  ProtocolError,
  ReceiptKind,
  type SyncEvent,
} from '@synkey/protocol';
import Database from 'better-sqlite3';
import { migrate, migrations } from './migrations';
import { openStore } from './sqlite-store';
import { SYNC_REPLY_BUDGET } from './sync';
import type { ChatStore } from './types';

const invalid = { name: 'ProtocolError', code: ErrorCode.Invalid };
const forbidden = { name: 'ProtocolError', code: ErrorCode.Forbidden };
const notFound = { name: 'ProtocolError', code: ErrorCode.NotFound };

function memoryStore(t: { after(fn: () => void): void }): ChatStore {
  const store = openStore(':memory:');
  t.after(() => store.close());
  return store;
}

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'synkey-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function direct(store: ChatStore, a: string, b: string): number {
  return store.createConversation(a, { kind: ConvKind.Direct, members: [b] }).conv.id;
}

function group(store: ChatStore, owner: string, members: string[], title?: string): number {
  return store.createConversation(owner, { kind: ConvKind.Group, members, title }).conv.id;
}

function say(store: ChatStore, user: string, conv: number, cmid: string, text = `text of ${cmid}`) {
  return store.send(user, { cmid, conv, kind: MsgKind.Text, text });
}

/** Syncs `user` from seq 0 in pages of `limit`, checking that every page continues the previous one. */
function syncAll(store: ChatStore, user: string, limit?: number): SyncEvent[] {
  const events: SyncEvent[] = [];
  let seq = 0;
  for (;;) {
    const reply = store.sync(user, { epoch: store.epoch, seq, limit });
    assert.equal(reply.epoch, store.epoch);
    assert.equal(reply.from, seq);
    assert.equal(reply.seq, reply.from + reply.events.length);
    assert.equal(reply.reset, undefined);
    events.push(...reply.events);
    seq = reply.seq;
    if (!reply.more) break;
    assert.ok(reply.events.length > 0, 'a reply with more=true must make progress');
  }
  assert.equal(seq, store.maxSeq(user));
  return events;
}

/** Syncs `user` after `seq` with the biggest page. */
function eventsAfter(store: ChatStore, user: string, seq: number): SyncEvent[] {
  return store.sync(user, { epoch: store.epoch, seq, limit: Limits.maxSyncPage }).events;
}

function receipts(events: SyncEvent[]) {
  return events.flatMap((e) => (e.receipt ? [e.receipt] : []));
}

function ackAll(store: ChatStore, user: string, device = `${user}-phone`) {
  return store.ack(user, device, { epoch: store.epoch, seq: store.maxSeq(user) });
}

/** Everything the API can show about `users` and `convs`: used to prove a failed call wrote nothing. */
function snapshot(store: ChatStore, users: string[], convs: number[]) {
  return {
    seqs: users.map((u) => store.maxSeq(u)),
    timelines: users.map((u) => syncAll(store, u)),
    lists: users.map((u) => store.listConversations(u)),
    history: convs.map((c) => store.history(users[0] as string, { conv: c, limit: Limits.maxHistoryPage })),
  };
}

describe('timeline', () => {
  test('every timeline is gapless, 1..n, across sends, receipts, reads and conversations', (t) => {
    const path = join(tempDir(t), 'chat.db');
    const store = openStore(path);
    const ab = direct(store, 'alice', 'bob');
    const team = group(store, 'alice', ['bob', 'carol'], 'team');
    const bc = direct(store, 'bob', 'carol');
    for (let i = 0; i < 5; i++) {
      say(store, 'alice', ab, `a-ab-${i}`);
      say(store, 'bob', team, `b-team-${i}`);
      say(store, 'carol', bc, `c-bc-${i}`);
      ackAll(store, 'bob');
      ackAll(store, 'carol');
      store.read('alice', { conv: team, upTo: 1000 });
      store.read('carol', { conv: bc, upTo: 1000 });
    }
    const users = ['alice', 'bob', 'carol'];
    const lengths = users.map((u) => syncAll(store, u, 7).length);
    assert.deepEqual(
      lengths,
      users.map((u) => store.maxSeq(u)),
    );
    store.close();

    const raw = new Database(path, { readonly: true });
    t.after(() => raw.close());
    for (const user of users) {
      const seqs = raw.prepare('SELECT seq FROM timeline WHERE user_id = ? ORDER BY seq').pluck().all(user);
      assert.ok(seqs.length > 10);
      assert.deepEqual(
        seqs,
        seqs.map((_, i) => i + 1),
        `${user}'s timeline has a gap`,
      );
      const stored = raw.prepare('SELECT timeline_seq FROM users WHERE id = ?').pluck().get(user);
      assert.equal(stored, seqs.length);
    }
  });

  test('a message event carries its cmid only on the sender timeline', (t) => {
    const store = memoryStore(t);
    const conv = direct(store, 'alice', 'bob');
    say(store, 'alice', conv, 'cm-1');
    const [forAlice] = eventsAfter(store, 'alice', 1);
    const [forBob] = eventsAfter(store, 'bob', 1);
    assert.equal(forAlice?.msg?.cmid, 'cm-1');
    assert.ok(forBob?.msg);
    assert.equal(forBob.msg.cmid, undefined);
    assert.equal(forBob.msg.text, 'text of cm-1');
  });
});

describe('send', () => {
  test('a SEND whose prev is not stored is refused OUT_OF_ORDER and stores nothing; once prev is stored it goes in', (t) => {
    const store = memoryStore(t);
    const conv = direct(store, 'alice', 'bob');
    const before = store.maxSeq('bob');
    const send = (cmid: string, prev?: string) =>
      store.send('alice', { cmid, conv, kind: MsgKind.Text, text: cmid, ...(prev ? { prev } : {}) });
    assert.throws(
      () => send('second', 'first'),
      (e) => e instanceof ProtocolError && e.code === ErrorCode.OutOfOrder,
    );
    assert.equal(store.maxSeq('bob'), before, 'nothing was stored');
    assert.equal(send('first').ack.convSeq, 1);
    assert.equal(send('second', 'first').ack.convSeq, 2);
  });

  test('stores the message, returns its ack and appends it to every member timeline', (t) => {
    const store = memoryStore(t);
    const conv = group(store, 'alice', ['bob', 'carol']);
    const { ack, grew, duplicate } = say(store, 'alice', conv, 'cm-1', 'hello');
    assert.equal(duplicate, false);
    assert.deepEqual({ cmid: ack.cmid, convSeq: ack.convSeq }, { cmid: 'cm-1', convSeq: 1 });
    assert.deepEqual([...grew].sort(), ['alice', 'bob', 'carol']);
    for (const user of ['alice', 'bob', 'carol']) {
      const [event] = eventsAfter(store, user, 1);
      assert.deepEqual(
        { id: event?.msg?.id, conv: event?.msg?.conv, sender: event?.msg?.sender, ts: event?.msg?.ts },
        { id: ack.id, conv, sender: 'alice', ts: ack.ts },
      );
    }
    assert.equal(say(store, 'bob', conv, 'cm-1').ack.convSeq, 2, 'cmids are per sender');
  });

  test('moves the sender delivered and read positions to the new message (replying implies reading)', (t) => {
    const store = memoryStore(t);
    const conv = direct(store, 'alice', 'bob');
    say(store, 'bob', conv, 'b-1');
    say(store, 'alice', conv, 'a-1');
    const [summary] = store.listConversations('alice');
    assert.deepEqual(summary?.members, [
      { user: 'alice', delivered: 2, read: 2 },
      { user: 'bob', delivered: 1, read: 1 },
    ]);
    assert.equal(summary?.unread, 0);
  });

  test('a repeated cmid returns the original ack and creates nothing, whatever its text or conversation', (t) => {
    const store = memoryStore(t);
    const ab = direct(store, 'alice', 'bob');
    const ac = direct(store, 'alice', 'carol');
    const first = say(store, 'alice', ab, 'cm-1', 'original');
    const before = snapshot(store, ['alice', 'bob', 'carol'], [ab, ac]);
    const repeats = [
      say(store, 'alice', ab, 'cm-1', 'original'),
      say(store, 'alice', ab, 'cm-1', 'different text'),
      say(store, 'alice', ac, 'cm-1', 'other conversation'),
      store.send('alice', { cmid: 'cm-1', conv: 999, kind: MsgKind.Image }),
    ];
    for (const repeat of repeats) {
      assert.deepEqual(repeat, { ack: first.ack, grew: [], duplicate: true });
    }
    assert.deepEqual(snapshot(store, ['alice', 'bob', 'carol'], [ab, ac]), before);
  });

  test('a non-member gets FORBIDDEN and an unknown conversation NOT_FOUND', (t) => {
    const store = memoryStore(t);
    const conv = direct(store, 'alice', 'bob');
    store.ensureUser('mallory');
    assert.throws(() => say(store, 'mallory', conv, 'm-1'), forbidden);
    assert.throws(() => say(store, 'alice', conv + 1, 'a-1'), notFound);
    assert.equal(store.maxSeq('mallory'), 0);
    assert.equal(store.history('alice', { conv }).msgs.length, 0);
  });

  test('invalid messages are INVALID and write nothing', (t) => {
    const store = memoryStore(t);
    const conv = direct(store, 'alice', 'bob');
    const before = snapshot(store, ['alice', 'bob'], [conv]);
    const bad: BodyOf<typeof Op.SEND>[] = [
      { cmid: 'x-1', conv, kind: MsgKind.Text, text: '' },
      { cmid: 'x-2', conv, kind: MsgKind.Text, text: ' \n\t ' },
      { cmid: 'x-3', conv, kind: MsgKind.Text },
      { cmid: 'x-4', conv, kind: MsgKind.Text, text: 'x'.repeat(Limits.maxText + 1) },
      { cmid: 'x-5', conv, kind: MsgKind.Image, text: 'a picture' },
      { cmid: 'x-6', conv, kind: 0, text: 'kind zero' },
      { cmid: '', conv, kind: MsgKind.Text, text: 'empty cmid' },
      { cmid: 'c'.repeat(Limits.maxId + 1), conv, kind: MsgKind.Text, text: 'long cmid' },
    ];
    for (const req of bad) assert.throws(() => store.send('alice', req), invalid, JSON.stringify(req).slice(0, 80));
    assert.throws(() => say(store, '', conv, 'x-7'), invalid);
    assert.throws(() => say(store, 'u'.repeat(Limits.maxId + 1), conv, 'x-8'), invalid);
    assert.deepEqual(snapshot(store, ['alice', 'bob'], [conv]), before);

    const longest = 'x'.repeat(Limits.maxText);
    assert.equal(say(store, 'alice', conv, 'c'.repeat(Limits.maxId), longest).ack.convSeq, 1);
  });

  test('message ts never goes backwards within a conversation', (t) => {
    let now = 5_000;
    t.mock.method(Date, 'now', () => now);
    const store = memoryStore(t);
    const conv = direct(store, 'alice', 'bob');
    assert.equal(say(store, 'alice', conv, 'a-1').ack.ts, 5_000);
    now = 4_000;
    assert.equal(say(store, 'bob', conv, 'b-1').ack.ts, 5_000);
    now = 6_000;
    assert.equal(say(store, 'alice', conv, 'a-2').ack.ts, 6_000);
  });
});

describe('sync', () => {
  test('pages through 1,000 messages contiguously with limit and more', (t) => {
    const store = memoryStore(t);
    const conv = direct(store, 'alice', 'bob');
    for (let i = 1; i <= 1000; i++) say(store, 'alice', conv, `a-${i}`, `message ${i}`);
    assert.equal(store.maxSeq('bob'), 1001);

    const events = syncAll(store, 'bob', 150);
    assert.equal(events.length, 1001);
    assert.equal(events[0]?.conv?.id, conv);
    assert.deepEqual(
      events.slice(1).map((e) => e.msg?.convSeq),
      Array.from({ length: 1000 }, (_, i) => i + 1),
    );

    const page = (seq: number, limit?: number) => store.sync('bob', { epoch: store.epoch, seq, limit });
    assert.equal(page(0).events.length, Limits.syncPage);
    assert.equal(page(0, 10_000).events.length, Limits.maxSyncPage);
    assert.equal(page(0, 0).events.length, 1);
    const last = page(995, 100);
    assert.deepEqual([last.from, last.seq, last.more, last.events.length], [995, 1001, false, 6]);
    const mid = page(100, 50);
    assert.deepEqual([mid.from, mid.seq, mid.more], [100, 150, true]);
    assert.equal(mid.events[0]?.msg?.convSeq, 100, 'event i has seq from + i + 1');
    const caughtUp = page(1001);
    assert.deepEqual([caughtUp.seq, caughtUp.more, caughtUp.events], [1001, false, []]);
  });

  test('an epoch of 0 is served; an unknown epoch or a seq beyond the newest gets the reset reply', (t) => {
    const store = memoryStore(t);
    const conv = direct(store, 'alice', 'bob');
    say(store, 'alice', conv, 'a-1');
    const reset = { epoch: store.epoch, from: 0, seq: 0, more: true, reset: true, events: [] };
    const otherEpoch = store.epoch === 1 ? 2 : store.epoch - 1;
    assert.deepEqual(store.sync('bob', { epoch: otherEpoch, seq: 0 }), reset);
    assert.deepEqual(store.sync('bob', { epoch: store.epoch, seq: 3 }), reset);
    assert.deepEqual(store.sync('nobody', { epoch: store.epoch, seq: 1 }), reset);
    const fresh = store.sync('bob', { epoch: 0, seq: 0 });
    assert.deepEqual(
      [fresh.epoch, fresh.from, fresh.seq, fresh.more, fresh.events.length],
      [store.epoch, 0, 2, false, 2],
    );
  });

  test('cuts a reply at about 512 KiB and continues with the next one', (t) => {
    const store = memoryStore(t);
    const conv = direct(store, 'alice', 'bob');
    const text = 'é'.repeat(Limits.maxText);
    for (let i = 0; i < 200; i++) say(store, 'alice', conv, `a-${i}`, text);
    const first = store.sync('bob', { epoch: store.epoch, seq: 0, limit: Limits.maxSyncPage });
    assert.equal(first.more, true);
    assert.ok(first.events.length > 10 && first.events.length < 201, `${first.events.length} events`);
    const textBytes = first.events.reduce((n, e) => n + Buffer.byteLength(e.msg?.text ?? ''), 0);
    assert.ok(textBytes <= SYNC_REPLY_BUDGET, `${textBytes} bytes of text`);
    assert.equal(syncAll(store, 'bob', Limits.maxSyncPage).length, 201);
  });

  test('never changes state: delivered positions and receipts wait for ACK', (t) => {
    const store = memoryStore(t);
    const conv = direct(store, 'alice', 'bob');
    say(store, 'alice', conv, 'a-1');
    const before = snapshot(store, ['alice', 'bob'], [conv]);
    syncAll(store, 'bob');
    assert.deepEqual(snapshot(store, ['alice', 'bob'], [conv]), before);
  });

  test('a user syncs no events of a conversation they are not in', (t) => {
    const store = memoryStore(t);
    const ab = direct(store, 'alice', 'bob');
    const ac = direct(store, 'alice', 'carol');
    say(store, 'alice', ab, 'a-1');
    say(store, 'bob', ab, 'b-1');
    store.read('alice', { conv: ab, upTo: 2 });
    say(store, 'alice', ac, 'a-2');
    const carolSees = syncAll(store, 'carol');
    assert.equal(carolSees.length, 2);
    for (const e of carolSees) assert.equal(e.msg?.conv ?? e.conv?.id, ac);
  });
});

describe('ack', () => {
  test('moves the cursor and gives each sender exactly one delivered receipt', (t) => {
    const store = memoryStore(t);
    const team = group(store, 'alice', ['bob', 'carol']);
    say(store, 'alice', team, 'a-1');
    say(store, 'alice', team, 'a-2');
    say(store, 'carol', team, 'c-1');
    const seqs = { alice: store.maxSeq('alice'), carol: store.maxSeq('carol') };

    const { grew } = ackAll(store, 'bob');
    assert.deepEqual([...grew].sort(), ['alice', 'carol']);
    const expected = { conv: team, user: 'bob', kind: ReceiptKind.Delivered, upTo: 3 };
    assert.deepEqual(eventsAfter(store, 'alice', seqs.alice), [{ receipt: expected }]);
    assert.deepEqual(eventsAfter(store, 'carol', seqs.carol), [{ receipt: expected }]);
    assert.deepEqual(
      store.listConversations('alice')[0]?.members.find((m) => m.user === 'bob'),
      { user: 'bob', delivered: 3, read: 0 },
    );
  });

  test('is idempotent: a repeat, a lower seq or another device of the same user emits nothing', (t) => {
    const store = memoryStore(t);
    const conv = direct(store, 'alice', 'bob');
    say(store, 'alice', conv, 'a-1');
    say(store, 'alice', conv, 'a-2');
    assert.deepEqual(ackAll(store, 'bob', 'phone').grew, ['alice']);
    const aliceSeq = store.maxSeq('alice');
    assert.deepEqual(ackAll(store, 'bob', 'phone').grew, []);
    assert.deepEqual(store.ack('bob', 'phone', { epoch: store.epoch, seq: 1 }).grew, []);
    assert.deepEqual(ackAll(store, 'bob', 'laptop').grew, []);
    assert.equal(store.maxSeq('alice'), aliceSeq);

    say(store, 'alice', conv, 'a-3');
    assert.deepEqual(ackAll(store, 'bob', 'laptop').grew, ['alice']);
    assert.deepEqual(receipts(eventsAfter(store, 'alice', aliceSeq)), [
      { conv, user: 'bob', kind: ReceiptKind.Delivered, upTo: 3 },
    ]);
  });

  test('acks only the acked range and skips messages already delivered by the acker own send', (t) => {
    const store = memoryStore(t);
    const conv = direct(store, 'alice', 'bob');
    say(store, 'alice', conv, 'a-1');
    say(store, 'alice', conv, 'a-2');
    const aliceSeq = store.maxSeq('alice');
    store.ack('bob', 'phone', { epoch: store.epoch, seq: 2 });
    assert.deepEqual(receipts(eventsAfter(store, 'alice', aliceSeq)), [
      { conv, user: 'bob', kind: ReceiptKind.Delivered, upTo: 1 },
    ]);
    say(store, 'bob', conv, 'b-1');
    const afterReply = store.maxSeq('alice');
    assert.deepEqual(ackAll(store, 'bob', 'phone').grew, [], 'sending moved bob past a-2 already');
    assert.equal(store.maxSeq('alice'), afterReply);
    assert.deepEqual(
      store.listConversations('alice')[0]?.members.find((m) => m.user === 'bob'),
      { user: 'bob', delivered: 3, read: 3 },
      'delivered never moves backwards',
    );
  });

  test('a stale epoch or a seq beyond the newest is INVALID and moves nothing', (t) => {
    const store = memoryStore(t);
    const conv = direct(store, 'alice', 'bob');
    say(store, 'alice', conv, 'a-1');
    const before = snapshot(store, ['alice', 'bob'], [conv]);
    const otherEpoch = store.epoch === 1 ? 2 : store.epoch - 1;
    assert.throws(() => store.ack('bob', 'phone', { epoch: otherEpoch, seq: 2 }), invalid);
    assert.throws(() => store.ack('bob', 'phone', { epoch: 0, seq: 2 }), invalid);
    assert.throws(() => store.ack('bob', 'phone', { epoch: store.epoch, seq: 3 }), invalid);
    assert.throws(() => store.ack('bob', '', { epoch: store.epoch, seq: 2 }), invalid);
    assert.deepEqual(snapshot(store, ['alice', 'bob'], [conv]), before);
    assert.deepEqual(ackAll(store, 'bob', 'phone').grew, ['alice'], 'the cursor did not move');
  });
});

describe('read', () => {
  test('appends a read receipt to every member, the reader included, and raises delivered', (t) => {
    const store = memoryStore(t);
    const team = group(store, 'alice', ['bob', 'carol']);
    for (let i = 1; i <= 3; i++) say(store, 'alice', team, `a-${i}`);
    const seqs = ['alice', 'bob', 'carol'].map((u) => store.maxSeq(u));
    const { grew } = store.read('bob', { conv: team, upTo: 2 });
    assert.deepEqual([...grew].sort(), ['alice', 'bob', 'carol']);
    const receipt = { conv: team, user: 'bob', kind: ReceiptKind.Read, upTo: 2 };
    ['alice', 'bob', 'carol'].forEach((u, i) => {
      assert.deepEqual(eventsAfter(store, u, seqs[i] as number), [{ receipt }], u);
    });
    const [summary] = store.listConversations('bob');
    assert.deepEqual(
      summary?.members.find((m) => m.user === 'bob'),
      { user: 'bob', delivered: 2, read: 2 },
    );
    assert.equal(summary?.unread, 1);
  });

  test('clamps upTo to the last message and is a no-op when it does not advance', (t) => {
    const store = memoryStore(t);
    const conv = direct(store, 'alice', 'bob');
    say(store, 'alice', conv, 'a-1');
    say(store, 'alice', conv, 'a-2');
    const aliceSeq = store.maxSeq('alice');
    store.read('bob', { conv, upTo: 99 });
    assert.deepEqual(receipts(eventsAfter(store, 'alice', aliceSeq)), [
      { conv, user: 'bob', kind: ReceiptKind.Read, upTo: 2 },
    ]);
    const seqs = [store.maxSeq('alice'), store.maxSeq('bob')];
    assert.deepEqual(store.read('bob', { conv, upTo: 2 }).grew, []);
    assert.deepEqual(store.read('bob', { conv, upTo: 1 }).grew, []);
    assert.deepEqual(store.read('bob', { conv, upTo: 99 }).grew, []);
    assert.deepEqual([store.maxSeq('alice'), store.maxSeq('bob')], seqs);
    assert.deepEqual(ackAll(store, 'bob').grew, [], 'read already covered delivery');
  });

  test('a non-member gets FORBIDDEN and an unknown conversation NOT_FOUND', (t) => {
    const store = memoryStore(t);
    const conv = direct(store, 'alice', 'bob');
    say(store, 'alice', conv, 'a-1');
    assert.throws(() => store.read('carol', { conv, upTo: 1 }), forbidden);
    assert.throws(() => store.read('bob', { conv: conv + 7, upTo: 1 }), notFound);
    assert.equal(store.listConversations('bob')[0]?.unread, 1);
  });
});

describe('conversations', () => {
  test('a direct pair is created once: A→B and B→A return the same conversation without new events', (t) => {
    const store = memoryStore(t);
    const first = store.createConversation('alice', { kind: ConvKind.Direct, members: ['bob'] });
    assert.deepEqual([...first.grew].sort(), ['alice', 'bob']);
    const seqs = [store.maxSeq('alice'), store.maxSeq('bob')];
    assert.deepEqual(seqs, [1, 1]);
    const again = store.createConversation('bob', { kind: ConvKind.Direct, members: ['alice'] });
    const withSelf = store.createConversation('alice', { kind: ConvKind.Direct, members: ['alice', 'bob', 'bob'] });
    for (const r of [again, withSelf]) {
      assert.equal(r.conv.id, first.conv.id);
      assert.deepEqual(r.grew, []);
    }
    assert.deepEqual([store.maxSeq('alice'), store.maxSeq('bob')], seqs);
    assert.notEqual(direct(store, 'alice', 'carol'), first.conv.id);
  });

  test('a direct conversation needs exactly one other user', (t) => {
    const store = memoryStore(t);
    for (const members of [[], ['alice'], ['bob', 'carol']]) {
      assert.throws(() => store.createConversation('alice', { kind: ConvKind.Direct, members }), invalid);
    }
    assert.deepEqual(store.listConversations('alice'), []);
  });

  test('a group includes the caller, creates unknown users and tells every member', (t) => {
    const store = memoryStore(t);
    const { conv, grew } = store.createConversation('alice', {
      kind: ConvKind.Group,
      members: ['bob', 'carol', 'bob'],
      title: 'Team',
    });
    assert.deepEqual([...grew].sort(), ['alice', 'bob', 'carol']);
    assert.equal(conv.kind, ConvKind.Group);
    assert.equal(conv.title, 'Team');
    assert.deepEqual(
      conv.members.map((m) => m.user),
      ['alice', 'bob', 'carol'],
    );
    for (const user of ['alice', 'bob', 'carol']) {
      assert.deepEqual(syncAll(store, user), [{ conv: { ...conv } }], user);
    }
    const solo = store.createConversation('dave', { kind: ConvKind.Group, members: [] }).conv;
    assert.deepEqual(solo.members, [{ user: 'dave', delivered: 0, read: 0 }]);
  });

  test('an unknown kind, a bad member id, too many members or a too-long title is INVALID and writes nothing', (t) => {
    const store = memoryStore(t);
    const others = Array.from({ length: Limits.maxMembers }, (_, i) => `user-${i}`);
    const bad: BodyOf<typeof Op.CONV_CREATE>[] = [
      { kind: 3, members: ['bob'] },
      { kind: ConvKind.Group, members: ['bob', ''] },
      { kind: ConvKind.Group, members: ['x'.repeat(Limits.maxId + 1)] },
      { kind: ConvKind.Group, members: others },
      { kind: ConvKind.Group, members: ['bob'], title: 't'.repeat(Limits.maxTitle + 1) },
    ];
    for (const req of bad) assert.throws(() => store.createConversation('alice', req), invalid);
    assert.equal(store.maxSeq('alice'), 0);
    assert.equal(store.maxSeq('bob'), 0);
    assert.deepEqual(store.listConversations('bob'), []);

    const biggest = store.createConversation('alice', { kind: ConvKind.Group, members: others.slice(1) });
    assert.equal(biggest.conv.members.length, Limits.maxMembers);
  });

  test('listConversations puts the latest activity first with unread counts, positions and last message', (t) => {
    let now = 1_000;
    t.mock.method(Date, 'now', () => now++);
    const store = memoryStore(t);
    const ab = direct(store, 'alice', 'bob');
    const ac = direct(store, 'alice', 'carol');
    const team = group(store, 'alice', ['bob', 'carol'], 'team');
    const quiet = direct(store, 'alice', 'dave');
    say(store, 'bob', ab, 'b-1');
    say(store, 'bob', ab, 'b-2');
    say(store, 'alice', ac, 'a-1');
    say(store, 'carol', team, 'c-1');
    say(store, 'bob', team, 'b-3');
    say(store, 'carol', ac, 'c-2');
    say(store, 'carol', ac, 'c-3');
    say(store, 'bob', ab, 'b-4');
    store.read('alice', { conv: ab, upTo: 1 });
    ackAll(store, 'carol');

    const list = store.listConversations('alice');
    assert.deepEqual(
      list.map((c) => c.id),
      [ab, ac, team, quiet],
    );
    assert.deepEqual(
      list.map((c) => [c.lastSeq, c.unread]),
      [
        [3, 2],
        [3, 2],
        [2, 2],
        [0, 0],
      ],
    );
    const [abSummary, acSummary, teamSummary, quietSummary] = list;
    assert.deepEqual(abSummary?.members, [
      { user: 'alice', delivered: 1, read: 1 },
      { user: 'bob', delivered: 3, read: 3 },
    ]);
    assert.deepEqual(
      acSummary?.members.find((m) => m.user === 'carol'),
      { user: 'carol', delivered: 3, read: 3 },
    );
    assert.deepEqual(
      { sender: abSummary?.last?.sender, convSeq: abSummary?.last?.convSeq, text: abSummary?.last?.text },
      { sender: 'bob', convSeq: 3, text: 'text of b-4' },
    );
    assert.equal(abSummary?.last?.cmid, undefined, 'cmid only on own messages');
    assert.equal(teamSummary?.title, 'team');
    assert.equal(quietSummary?.last, undefined);

    say(store, 'alice', team, 'a-2');
    const after = store.listConversations('alice');
    assert.equal(after[0]?.id, team);
    assert.equal(after[0]?.unread, 0, 'sending marks the conversation read');
    assert.equal(after[0]?.last?.cmid, 'a-2');
    assert.deepEqual(
      store.listConversations('carol').map((c) => [c.id, c.unread]),
      [
        [team, 2],
        [ac, 0],
      ],
    );
  });
});

describe('history', () => {
  test('pages backwards with before, oldest first, cmid only on own messages', (t) => {
    const store = memoryStore(t);
    const conv = direct(store, 'alice', 'bob');
    for (let i = 1; i <= 120; i++) say(store, i % 3 === 0 ? 'bob' : 'alice', conv, `m-${i}`, `message ${i}`);
    const seqsOf = (msgs: { convSeq: number }[]) => msgs.map((m) => m.convSeq);
    const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

    const newest = store.history('alice', { conv });
    assert.deepEqual(seqsOf(newest.msgs), range(71, 120));
    assert.equal(newest.more, true);
    const older = store.history('alice', { conv, before: 71 });
    assert.deepEqual(seqsOf(older.msgs), range(21, 70));
    assert.equal(older.more, true);
    const oldest = store.history('alice', { conv, before: 21 });
    assert.deepEqual(seqsOf(oldest.msgs), range(1, 20));
    assert.equal(oldest.more, false);
    assert.deepEqual(store.history('alice', { conv, before: 1 }), { msgs: [], more: false });

    assert.deepEqual(seqsOf(store.history('alice', { conv, limit: Limits.maxHistoryPage }).msgs), range(1, 120));
    assert.deepEqual(seqsOf(store.history('alice', { conv, before: 11, limit: 3 }).msgs), [8, 9, 10]);
    for (const m of store.history('bob', { conv, limit: Limits.maxHistoryPage }).msgs) {
      assert.equal(m.cmid, m.sender === 'bob' ? `m-${m.convSeq}` : undefined);
      assert.equal(m.text, `message ${m.convSeq}`);
    }
  });

  test('clamps the page size to Limits.maxHistoryPage', (t) => {
    const store = memoryStore(t);
    const conv = direct(store, 'alice', 'bob');
    for (let i = 1; i <= Limits.maxHistoryPage + 5; i++) say(store, 'alice', conv, `m-${i}`);
    const page = store.history('bob', { conv, limit: 10_000 });
    assert.equal(page.msgs.length, Limits.maxHistoryPage);
    assert.equal(page.more, true);
  });

  test('a non-member gets FORBIDDEN and an unknown conversation NOT_FOUND', (t) => {
    const store = memoryStore(t);
    const conv = direct(store, 'alice', 'bob');
    say(store, 'alice', conv, 'a-1');
    assert.throws(() => store.history('carol', { conv }), forbidden);
    assert.throws(() => store.history('alice', { conv: conv + 1 }), notFound);
  });
});

describe('durability', () => {
  test('a database file is checkpointed in the background: its WAL reaches the main file without a close', async (t) => {
    const path = join(tempDir(t), 'chat.db');
    const store = openStore(path);
    t.after(() => store.close());
    const conv = direct(store, 'alice', 'bob');
    const before = statSync(path).size;
    store.batch(() => {
      for (let i = 0; i < 300; i++) say(store, 'alice', conv, `w-${i}`, 'w'.repeat(2000));
    });
    for (let waited = 0; statSync(path).size === before && waited < 20_000; waited += 50) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(statSync(path).size > before + 300 * 2000, `the main file is ${statSync(path).size} bytes`);
    const reader = new Database(path, { readonly: true });
    t.after(() => reader.close());
    assert.equal(reader.prepare('SELECT COUNT(*) FROM messages').pluck().get(), 300);
  });

  test('data and epoch survive closing and reopening the database file', (t) => {
    const path = join(tempDir(t), 'chat.db');
    const first = openStore(path);
    const conv = direct(first, 'alice', 'bob');
    const sent = say(first, 'alice', conv, 'a-1', 'kept');
    ackAll(first, 'bob');
    const epoch = first.epoch;
    const before = snapshot(first, ['alice', 'bob'], [conv]);
    first.close();

    const second = openStore(path);
    t.after(() => second.close());
    assert.equal(second.epoch, epoch);
    assert.deepEqual(snapshot(second, ['alice', 'bob'], [conv]), before);
    assert.deepEqual(say(second, 'alice', conv, 'a-1', 'kept'), { ack: sent.ack, grew: [], duplicate: true });
    assert.equal(say(second, 'bob', conv, 'b-1').ack.convSeq, 2);
  });

  test('a new database file gets its own epoch, a u32 of at least 1', (t) => {
    const dir = tempDir(t);
    const epochs = ['a.db', 'b.db'].map((name) => {
      const store = openStore(join(dir, name));
      const { epoch } = store;
      store.close();
      return epoch;
    });
    assert.notEqual(epochs[0], epochs[1]);
    for (const e of epochs) assert.ok(Number.isInteger(e) && e >= 1 && e < 2 ** 32, String(e));
  });

  test('a database file is in WAL mode at the latest schema version', (t) => {
    const path = join(tempDir(t), 'chat.db');
    openStore(path).close();
    const raw = new Database(path, { readonly: true });
    t.after(() => raw.close());
    assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(raw.pragma('user_version', { simple: true }), migrations.length);
  });

  test('a database of the first schema is migrated to media with its messages and epoch intact', (t) => {
    const path = join(tempDir(t), 'chat.db');
    const raw = new Database(path);
    migrate(raw, migrations.slice(0, 1));
    raw.exec(`
      INSERT INTO users (id, created_at) VALUES ('alice', 1), ('bob', 1);
      INSERT INTO conversations (id, kind, direct_key, last_seq, last_ts, created_at, updated_at)
        VALUES (7, 1, '["alice","bob"]', 1, 5, 1, 5);
      INSERT INTO members (conv_id, user_id, joined_at) VALUES (7, 'alice', 1), (7, 'bob', 1);
      INSERT INTO messages (conv_id, conv_seq, sender, cmid, kind, text, ts) VALUES (7, 1, 'alice', 'a-1', 1, 'old', 5);
    `);
    const epoch = Number(raw.prepare("SELECT value FROM meta WHERE key = 'epoch'").pluck().get());
    raw.close();
    const store = openStore(path);
    t.after(() => store.close());
    assert.equal(store.epoch, epoch);
    assert.deepEqual(store.history('bob', { conv: 7 }).msgs, [
      { id: 1, conv: 7, sender: 'alice', convSeq: 1, ts: 5, kind: 1, text: 'old' },
    ]);
    assert.equal(store.listConversations('bob')[0]?.last?.text, 'old');
  });

  test('a database from a newer schema version is refused', (t) => {
    const path = join(tempDir(t), 'chat.db');
    const raw = new Database(path);
    raw.pragma(`user_version = ${migrations.length + 1}`);
    raw.close();
    assert.throws(() => openStore(path), /newer than this server knows/);
  });
});

describe('users and meta', () => {
  test('ensureUser rejects bad user ids, device ids and names', (t) => {
    const store = memoryStore(t);
    assert.throws(() => store.ensureUser(''), invalid);
    assert.throws(() => store.ensureUser('u'.repeat(Limits.maxId + 1)), invalid);
    assert.throws(() => store.ensureUser('alice', ''), invalid);
    assert.throws(() => store.ensureUser('alice', 'phone', 'n'.repeat(Limits.maxTitle + 1)), invalid);
    store.ensureUser('alice', 'phone', 'Alice');
    store.ensureUser('alice', 'phone');
    assert.equal(store.maxSeq('alice'), 0);
  });

  test('meta keeps the first value and does not call init again', (t) => {
    const path = join(tempDir(t), 'chat.db');
    const first = openStore(path);
    assert.equal(
      first.meta('secret', () => 's1'),
      's1',
    );
    assert.equal(
      first.meta('secret', () => assert.fail('init called twice')),
      's1',
    );
    first.close();
    const second = openStore(path);
    t.after(() => second.close());
    assert.equal(
      second.meta('secret', () => 's2'),
      's1',
    );
  });
});

describe('batch: many calls, one commit', () => {
  test('a call that fails inside a batch changes nothing, and the calls around it commit', (t) => {
    const store = memoryStore(t);
    const conv = direct(store, 'alice', 'bob');
    store.batch(() => {
      say(store, 'alice', conv, 'b-1');
      assert.throws(() => say(store, 'carol', conv, 'c-1'), forbidden);
      assert.throws(() => store.send('alice', { cmid: 'b-x', conv, kind: MsgKind.Text, text: 'x', prev: 'nope' }), {
        code: ErrorCode.OutOfOrder,
      });
      say(store, 'alice', conv, 'b-2');
    });
    assert.deepEqual(
      store.history('bob', { conv }).msgs.map((m) => [m.convSeq, m.text]),
      [
        [1, 'text of b-1'],
        [2, 'text of b-2'],
      ],
    );
    assert.equal(store.maxSeq('bob'), 3);
  });

  test('a batch that throws rolls everything back, and what the store remembers goes with it', (t) => {
    const store = memoryStore(t);
    const conv = direct(store, 'alice', 'bob');
    say(store, 'alice', conv, 'kept');
    const seq = store.maxSeq('bob');
    const events = syncAll(store, 'bob');
    assert.throws(
      () =>
        store.batch(() => {
          say(store, 'alice', conv, 'lost');
          assert.equal(store.maxSeq('bob'), seq + 1);
          assert.equal(store.sync('bob', { epoch: store.epoch, seq }).events[0]?.msg?.text, 'text of lost');
          throw new Error('the commit failed');
        }),
      /the commit failed/,
    );
    assert.equal(store.maxSeq('bob'), seq);
    assert.deepEqual(syncAll(store, 'bob'), events);
    // The rolled-back message's id and seqs are used again: nothing of 'lost' may come back with them.
    say(store, 'alice', conv, 'next', 'the next one');
    const [next] = store.sync('bob', { epoch: store.epoch, seq }).events;
    assert.equal(next?.msg?.text, 'the next one');
    assert.equal(next?.msg?.convSeq, 2);
    assert.deepEqual(
      store.history('alice', { conv }).msgs.map((m) => m.cmid),
      ['kept', 'next'],
    );
  });
});

describe('pages cut by bytes', () => {
  test('a SYNC or HISTORY page stops at the byte budget asked for, keeping at least one event, and says there is more', (t) => {
    const store = memoryStore(t);
    const conv = direct(store, 'alice', 'bob');
    const long = 'y'.repeat(Limits.maxText);
    for (let i = 1; i <= 20; i++) say(store, 'alice', conv, `l-${i}`, long);
    const sync = store.sync('bob', { epoch: store.epoch, seq: 0 }, 3 * Limits.maxText);
    assert.ok(sync.events.length >= 1 && sync.events.length <= 3, `${sync.events.length} events`);
    assert.equal(sync.more, true);
    assert.equal(store.sync('bob', { epoch: store.epoch, seq: 0 }, 1).events.length, 1);
    const page = store.history('bob', { conv, limit: 20 }, 3 * Limits.maxText);
    assert.ok(page.msgs.length >= 1 && page.msgs.length <= 3);
    assert.equal(page.msgs.at(-1)?.convSeq, 20, 'the newest are kept');
    assert.equal(page.more, true);
    assert.equal(store.history('bob', { conv, limit: 20 }).msgs.length, 20, 'the default budget holds 20 of them');
  });
});
