import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type BodyOf, Op, type SyncEvent } from '@synkey/protocol';
import { MemoryStore } from '../src/memory-store';
import type { OutboxEntry, SynKey } from '../src/store';
import { Syncer } from '../src/sync';
import { directConv, msg } from './fixtures';
import { asRequester, sleep } from './helpers';

const me = 'alice';

/** A user's timeline on a pretend server, answering SYNC and ACK as the spec says. */
class Timeline {
  epoch = 7;
  events: SyncEvent[] = [{ conv: directConv(1, me, 'bob') }];
  acks: SynKey[] = [];
  syncs: BodyOf<typeof Op.SYNC>[] = [];
  inFlight = 0;
  maxInFlight = 0;
  /** Shifts `from` of the next reply, as a buggy or confused server might. */
  skewNext = 0;

  add(n: number): void {
    const base = this.events.length;
    for (let i = 0; i < n; i++) this.events.push({ msg: msg(1, base + i, 'bob') });
  }

  request = asRequester(async (op, body: BodyOf<typeof Op.SYNC> | SynKey) => {
    if (op === Op.ACK) {
      this.acks.push(body);
      return {};
    }
    const req = body as BodyOf<typeof Op.SYNC>;
    this.syncs.push(req);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await sleep(1);
    this.inFlight--;
    if ((req.epoch !== 0 && req.epoch !== this.epoch) || req.seq > this.events.length) {
      return { epoch: this.epoch, from: 0, seq: 0, more: true, reset: true, events: [] };
    }
    const from = req.seq + this.skewNext;
    this.skewNext = 0;
    const events = this.events.slice(from, from + (req.limit ?? 200));
    const seq = from + events.length;
    return { epoch: this.epoch, from, seq, more: seq < this.events.length, events };
  });
}

function syncer(store: MemoryStore, timeline: Timeline, log: string[] = [], request = timeline.request): Syncer {
  return new Syncer({
    store,
    request,
    me: () => me,
    pageSize: 200,
    onApplied: async (changes) => {
      log.push(`applied ${[...changes.messages.values()].flat().length}`);
    },
    onReset: () => log.push('reset'),
    onError: (e) => log.push(`error ${e.message}`),
  });
}

describe('Syncer', () => {
  it('catches up across several pages, applying each with its SynKey, and acks each page', async () => {
    const store = new MemoryStore();
    const timeline = new Timeline();
    timeline.add(449);
    await syncer(store, timeline).sync();
    assert.deepEqual(await store.synKey(), { epoch: 7, seq: 450 });
    assert.deepEqual(
      timeline.syncs.map((s) => s.seq),
      [0, 200, 400],
    );
    await sleep(5);
    assert.deepEqual(
      timeline.acks.map((a) => a.seq),
      [200, 400, 450],
    );
    const stored = await store.messages(1, { limit: 500 });
    assert.deepEqual(
      stored.map((m) => m.convSeq),
      Array.from({ length: 449 }, (_, i) => i + 1),
    );
  });

  it('coalesces syncs asked for during a catch-up into one more pass and never runs two at once', async () => {
    const store = new MemoryStore();
    const timeline = new Timeline();
    timeline.add(300);
    const s = syncer(store, timeline);
    const first = s.sync();
    const more: Promise<void>[] = [];
    for (let i = 0; i < 5; i++) {
      await sleep(0);
      timeline.add(10);
      more.push(s.sync());
    }
    await Promise.all([first, ...more]);
    assert.equal(timeline.maxInFlight, 1);
    assert.deepEqual(await store.synKey(), { epoch: 7, seq: timeline.events.length });
    assert.equal((await store.messages(1, { limit: 500 })).length, 350);
  });

  it('never applies a page that does not start at the local SynKey', async () => {
    const store = new MemoryStore();
    const timeline = new Timeline();
    timeline.add(20);
    await syncer(store, timeline).sync();
    timeline.add(5);
    timeline.skewNext = 2;
    await syncer(store, timeline).sync();
    const seqs = (await store.messages(1, { limit: 100 })).map((m) => m.convSeq);
    assert.deepEqual(
      seqs,
      Array.from({ length: 25 }, (_, i) => i + 1),
    );
    assert.deepEqual(await store.synKey(), { epoch: 7, seq: 26 });
  });

  it('on reset drops synced state, keeps the outbox and syncs again from (epoch, 0)', async () => {
    const store = new MemoryStore();
    const old = new Timeline();
    old.epoch = 3;
    old.add(10);
    await syncer(store, old).sync();
    const entry: OutboxEntry = { cmid: 'c1', conv: 1, kind: 1, text: 'x', createdAt: 1, state: 'sending' };
    await store.putOutbox(entry);

    const fresh = new Timeline();
    fresh.add(2);
    const log: string[] = [];
    await syncer(store, fresh, log).sync();
    assert.ok(log.includes('reset'));
    assert.deepEqual(
      fresh.syncs.map((s) => [s.epoch, s.seq]),
      [
        [3, 11],
        [7, 0],
      ],
    );
    assert.deepEqual(await store.synKey(), { epoch: 7, seq: 3 });
    assert.deepEqual(
      (await store.messages(1, { limit: 100 })).map((m) => m.convSeq),
      [1, 2],
    );
    assert.deepEqual(await store.outbox(), [entry]);
  });

  it('asks for the next page while the previous one is applied, and applies the pages in order', async () => {
    const store = new MemoryStore();
    const timeline = new Timeline();
    timeline.add(449);
    const order: string[] = [];
    const applySync = store.applySync.bind(store);
    store.applySync = async (events, next, context) => {
      order.push(`apply ${context.expected.seq} starts`);
      await sleep(5);
      const changes = await applySync(events, next, context);
      order.push(`apply ${context.expected.seq} ends`);
      return changes;
    };
    const request = timeline.request;
    timeline.request = asRequester(async (op, body: BodyOf<typeof Op.SYNC>) => {
      if (op === Op.SYNC) order.push(`sync ${body.seq}`);
      return request(op as never, body as never);
    });
    await syncer(store, timeline).sync();
    assert.deepEqual(order, [
      'sync 0',
      'sync 200',
      'apply 0 starts',
      'apply 0 ends',
      'sync 400',
      'apply 200 starts',
      'apply 200 ends',
      'apply 400 starts',
      'apply 400 ends',
    ]);
    assert.equal(timeline.maxInFlight, 1, 'one SYNC at a time');
    assert.deepEqual(await store.synKey(), { epoch: 7, seq: 450 });
  });

  it('acks the stored SynKey on a new link even when there is nothing new', async () => {
    const store = new MemoryStore();
    const timeline = new Timeline();
    timeline.add(3);
    const s = syncer(store, timeline);
    await s.sync();
    await sleep(5);
    timeline.acks = [];
    s.linkChanged();
    await s.sync();
    await sleep(5);
    assert.deepEqual(timeline.acks, [{ epoch: 7, seq: 4 }]);
  });

  it('a heartbeat head syncs a store behind it, and costs no SYNC when the store has it', async () => {
    const store = new MemoryStore();
    const timeline = new Timeline();
    timeline.add(3);
    const s = syncer(store, timeline);
    await s.sync();
    timeline.syncs = [];
    await s.catchUpTo({ epoch: 7, seq: 4 });
    assert.deepEqual(timeline.syncs, [], 'up to date: nothing asked');
    timeline.add(2);
    await s.catchUpTo({ epoch: 7, seq: 6 });
    assert.deepEqual(await store.synKey(), { epoch: 7, seq: 6 });
    assert.equal(timeline.syncs.length, 1);
  });

  it('a head named during a catch-up adds a pass only when the catch-up ends behind it', async () => {
    const store = new MemoryStore();
    const timeline = new Timeline();
    timeline.add(300);
    const s = syncer(store, timeline);
    const covered = s.sync();
    await sleep(0);
    await Promise.all([covered, s.catchUpTo({ epoch: 7, seq: 301 })]);
    assert.deepEqual(
      timeline.syncs.map((r) => r.seq),
      [0, 200],
      'the catch-up under way covered the head: no extra SYNC',
    );

    // The server grows after answering the catch-up's SYNC, and a heartbeat names the new head meanwhile.
    let head: Promise<void> | undefined;
    const growing = asRequester(async (op, body: never) => {
      const reply = await timeline.request(op as typeof Op.SYNC, body);
      if (op === Op.SYNC && !head) {
        timeline.add(5);
        head = s2.catchUpTo({ epoch: 7, seq: timeline.events.length });
      }
      return reply;
    });
    const s2 = syncer(store, timeline, [], growing);
    timeline.add(10);
    timeline.syncs = [];
    await s2.sync();
    await head;
    assert.deepEqual(await store.synKey(), { epoch: 7, seq: 316 }, 'one more pass fetched what the head named');
    assert.deepEqual(
      timeline.syncs.map((r) => r.seq),
      [301, 311],
    );
  });
});
