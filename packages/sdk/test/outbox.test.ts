import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type BodyOf, ErrorCode, type Media, type Message, MsgKind, type Op, ProtocolError } from '@synkey/protocol';
import { sendPolicy } from '../src/backoff';
import { linkDown, ServerError } from '../src/errors';
import { uuidv7Generator } from '../src/ids';
import type { Transfer, TransferHooks } from '../src/media/transfer';
import { MemoryStore } from '../src/memory-store';
import { Outbox, type OutboxDeps } from '../src/outbox';
import type { OutboxEntry } from '../src/store';
import { directConv } from './fixtures';
import { asRequester, sleep, waitFor } from './helpers';

const me = 'alice';
type Ack = BodyOf<typeof Op.SEND_ACK>;

/**
 * A pretend server that processes SENDs strictly in call order (as a real server processes one
 * link's frames), dedupes by cmid and answers a repeat with the original ack.
 */
class SendServer {
  readonly stored: BodyOf<typeof Op.SEND>[] = [];
  readonly acks = new Map<string, Ack>();
  readonly attempts = new Map<string, number>();
  private readonly lastSeq = new Map<number, number>();
  /** While true every SEND fails as on a dropped link, unprocessed. */
  offline = false;
  /** Conversations whose SENDs fail unprocessed. */
  readonly unreachable = new Set<number>();
  /** Texts whose next SEND is processed but whose ack is lost. */
  readonly loseAck = new Set<string>();
  /** Texts the server refuses as INVALID. */
  readonly invalid = new Set<string>();
  /** This many SENDs are refused as RATE_LIMITED, unprocessed. */
  rateLimited = 0;
  /** After this many more SENDs are processed, the link drops: later ones fail unprocessed until `offline` is cleared. */
  dropAfter = Number.POSITIVE_INFINITY;
  /** Resolves the SENDs that are seen; a test can hold the server to inspect the store first. */
  gate: Promise<void> = Promise.resolve();
  /** Most SENDs of one conversation seen in flight at once, and of all conversations. */
  maxInFlight = new Map<number, number>();
  maxInFlightAll = 0;
  private readonly inFlight = new Map<number, number>();

  request = asRequester(async (_op, body: BodyOf<typeof Op.SEND>, timeoutMs?: number) => {
    const n = (this.inFlight.get(body.conv) ?? 0) + 1;
    this.inFlight.set(body.conv, n);
    this.maxInFlight.set(body.conv, Math.max(n, this.maxInFlight.get(body.conv) ?? 0));
    this.maxInFlightAll = Math.max(
      this.maxInFlightAll,
      [...this.inFlight.values()].reduce((a, b) => a + b, 0),
    );
    try {
      return await this.handle(body, timeoutMs);
    } finally {
      this.inFlight.set(body.conv, (this.inFlight.get(body.conv) ?? 1) - 1);
    }
  });

  private async handle(body: BodyOf<typeof Op.SEND>, timeoutMs = 1_000): Promise<Ack> {
    this.attempts.set(body.cmid, (this.attempts.get(body.cmid) ?? 0) + 1);
    await this.gate;
    await sleep(0);
    if (this.dropAfter-- <= 0) this.offline = true;
    if (this.offline || this.unreachable.has(body.conv)) {
      await sleep(1);
      throw linkDown('the link dropped');
    }
    if (this.rateLimited > 0) {
      this.rateLimited--;
      throw new ServerError({ code: ErrorCode.RateLimited, message: 'slow down', retryMs: 1 });
    }
    if (this.invalid.has(body.text ?? '')) throw new ServerError({ code: ErrorCode.Invalid, message: 'refused' });
    let ack = this.acks.get(body.cmid);
    if (!ack) {
      const convSeq = (this.lastSeq.get(body.conv) ?? 0) + 1;
      this.lastSeq.set(body.conv, convSeq);
      ack = { cmid: body.cmid, id: 1_000_000 + this.stored.length, convSeq, ts: Date.now() };
      this.acks.set(body.cmid, ack);
      this.stored.push(body);
    }
    if (this.loseAck.delete(body.text ?? '')) {
      await sleep(timeoutMs);
      throw new ProtocolError(ErrorCode.Timeout, 'no reply');
    }
    return ack;
  }

  texts(conv: number): string[] {
    return this.stored.filter((s) => s.conv === conv).map((s) => s.text ?? '');
  }
}

const fastPolicy = {
  ...sendPolicy,
  ackTimeoutMs: 100,
  maxAttempts: 5,
  budgetMs: 10_000,
  backoff: { minMs: 10, maxMs: 40 },
};
const pipelined = { ...fastPolicy, window: 32 };

/** A transfer for tests without files: any upload fails. */
const noTransfer: Transfer = async () => {
  throw new ProtocolError(ErrorCode.Invalid, 'no uploads in this test');
};

async function harness(
  server: SendServer,
  policy = fastPolicy,
  store = new MemoryStore(),
  deps: Partial<Pick<OutboxDeps, 'transfer' | 'cancelTransfer'>> = {},
) {
  for (const id of [1, 2]) await store.apply([{ conv: directConv(id, me, 'bob') }], me);
  const changes: { conv: number; states: string[]; removed: string[] }[] = [];
  const errors: Error[] = [];
  const outbox: Outbox = new Outbox({
    store,
    request: server.request,
    policy,
    random: Math.random,
    newId: uuidv7Generator(),
    onAck: async (entry: OutboxEntry, ack: Ack) => {
      const message: Message = {
        id: ack.id,
        conv: entry.conv,
        sender: me,
        cmid: entry.cmid,
        convSeq: ack.convSeq,
        ts: ack.ts,
        kind: 1,
      };
      if (entry.text !== undefined) message.text = entry.text;
      const applied = await store.apply([{ msg: message }], me);
      outbox.sent(applied.sent);
    },
    onChange: (conv, entries, removed) => changes.push({ conv, states: entries.map((e) => e.state), removed }),
    onError: (e) => errors.push(e),
    transfer: noTransfer,
    ...deps,
  });
  await outbox.load();
  const drained = async () => (await store.outbox()).length === 0;
  const stateOf = async (cmid: string) => (await store.outboxEntry(cmid))?.state ?? 'sent';
  return { store, outbox, changes, errors, drained, stateOf };
}

describe('Outbox', () => {
  it('writes a message to the store as sending before its first attempt', async () => {
    const server = new SendServer();
    let release!: () => void;
    server.gate = new Promise((resolve) => {
      release = resolve;
    });
    const { store, outbox, drained } = await harness(server);
    outbox.setReady(true);
    const cmid = await outbox.send(1, { text: 'hello' });
    assert.deepEqual(
      (await store.outbox()).map((e) => [e.cmid, e.state]),
      [[cmid, 'sending']],
    );
    release();
    await waitFor(drained);
    assert.equal((await store.messages(1, { limit: 10 }))[0]?.cmid, cmid);
    outbox.close();
  });

  it('a send repeated with the same caller-given cmid queues one message and the server stores it once', async () => {
    const server = new SendServer();
    const { store, outbox, drained } = await harness(server);
    outbox.setReady(true);
    const cmid = 'caller-made-cmid-1';
    assert.equal(await outbox.send(1, { text: 'once' }, cmid), cmid);
    assert.equal(await outbox.send(1, { text: 'once' }, cmid), cmid);
    assert.equal((await store.outbox()).filter((e) => e.cmid === cmid).length <= 1, true);
    await waitFor(drained);
    assert.deepEqual(server.texts(1), ['once']);
    outbox.close();
  });

  it('refuses a text with a lone surrogate as INVALID before storing anything', async () => {
    const server = new SendServer();
    const { store, outbox } = await harness(server);
    await assert.rejects(
      outbox.send(1, { text: 'broken \uD83D emoji' }),
      (e) => e instanceof ProtocolError && e.code === ErrorCode.Invalid,
    );
    assert.deepEqual(await store.outbox(), []);
    outbox.close();
  });

  it('with a window above 1, pipelines many messages and the server stores each conversation in send order', async () => {
    const server = new SendServer();
    const { outbox, drained } = await harness(server, pipelined);
    outbox.setReady(true);
    const sent: string[] = [];
    for (let i = 0; i < 100; i++) {
      const conv = i % 2 === 0 ? 1 : 2;
      sent.push(`${conv}:${i}`);
      await outbox.send(conv, { text: `${conv}:${i}` });
    }
    await waitFor(drained);
    assert.ok((server.maxInFlight.get(1) ?? 0) > 1, 'SENDs of one conversation were pipelined');
    assert.deepEqual(
      server.texts(1),
      sent.filter((t) => t.startsWith('1:')),
    );
    assert.deepEqual(
      server.texts(2),
      sent.filter((t) => t.startsWith('2:')),
    );
    outbox.close();
  });

  it('with a window of 1, sends a message only after the one before it in its conversation is acknowledged', async () => {
    const server = new SendServer();
    const { outbox, drained } = await harness(server, { ...fastPolicy, window: 1 });
    outbox.setReady(true);
    for (let i = 0; i < 20; i++) await outbox.send(i % 2 === 0 ? 1 : 2, { text: `t${i}` });
    await waitFor(drained);
    assert.equal(server.maxInFlight.get(1), 1);
    assert.equal(server.maxInFlight.get(2), 1);
    assert.equal(server.maxInFlightAll, 2, 'conversations go side by side');
    assert.deepEqual(server.texts(1), ['t0', 't2', 't4', 't6', 't8', 't10', 't12', 't14', 't16', 't18']);
    outbox.close();
  });

  it('resends a message whose ack was lost with the same cmid; the server stores it once', async () => {
    const server = new SendServer();
    const { outbox, drained, store } = await harness(server);
    outbox.setReady(true);
    server.loseAck.add('a');
    const first = await outbox.send(1, { text: 'a' });
    const second = await outbox.send(1, { text: 'b' });
    await waitFor(drained);
    assert.deepEqual(server.texts(1), ['a', 'b']);
    assert.ok((server.attempts.get(first) ?? 0) >= 2);
    const stored = await store.messages(1, { limit: 10 });
    assert.deepEqual(
      stored.map((m) => [m.cmid, m.convSeq]),
      [
        [first, 1],
        [second, 2],
      ],
    );
    outbox.close();
  });

  it('keeps conversation order when the link drops in the middle of a pipelined stream', async () => {
    const server = new SendServer();
    server.dropAfter = 7;
    const { outbox, drained } = await harness(server, pipelined);
    outbox.setReady(true);
    const texts = Array.from({ length: 30 }, (_, i) => `m${i}`);
    for (const text of texts) await outbox.send(1, { text });
    await waitFor(() => server.offline);
    outbox.setReady(false);
    server.offline = false;
    server.dropAfter = Number.POSITIVE_INFINITY;
    outbox.setReady(true);
    await waitFor(drained);
    assert.deepEqual(server.texts(1), texts);
    outbox.close();
  });

  it('fails a message after bounded attempts, fails those queued behind it, and leaves other conversations alone', async () => {
    const server = new SendServer();
    server.unreachable.add(1);
    const { outbox, stateOf, store } = await harness(server, { ...fastPolicy, maxAttempts: 3 });
    outbox.setReady(true);
    const a = await outbox.send(1, { text: 'a' });
    const b = await outbox.send(1, { text: 'b' });
    const other = await outbox.send(2, { text: 'c' });
    await waitFor(async () => (await stateOf(a)) === 'failed' && (await stateOf(b)) === 'failed');
    assert.equal(await stateOf(other), 'sent');
    assert.equal(server.attempts.get(a), 3);
    assert.match((await store.outboxEntry(a))?.error ?? '', /UNAVAILABLE/);
    outbox.close();
  });

  it('retry(cmid) sends a failed message again with the same cmid', async () => {
    const server = new SendServer();
    server.unreachable.add(1);
    const { outbox, stateOf, store, drained } = await harness(server, { ...fastPolicy, maxAttempts: 2 });
    outbox.setReady(true);
    const a = await outbox.send(1, { text: 'a' });
    await waitFor(async () => (await stateOf(a)) === 'failed');
    server.unreachable.clear();
    await outbox.retry(a);
    await waitFor(drained);
    assert.deepEqual(
      server.stored.map((s) => s.cmid),
      [a],
    );
    assert.equal((await store.messages(1, { limit: 10 }))[0]?.cmid, a);
    outbox.close();
  });

  it('does not count RATE_LIMITED refusals as attempts', async () => {
    const server = new SendServer();
    server.rateLimited = 6;
    const { outbox, stateOf, drained } = await harness(server, { ...fastPolicy, maxAttempts: 2 });
    outbox.setReady(true);
    const a = await outbox.send(1, { text: 'a' });
    await waitFor(drained);
    assert.equal(await stateOf(a), 'sent');
    assert.equal(server.attempts.get(a), 7);
    outbox.close();
  });

  it('fails queued messages once the budget passes while offline', async () => {
    const server = new SendServer();
    const { outbox, stateOf } = await harness(server, { ...fastPolicy, budgetMs: 200 });
    const a = await outbox.send(1, { text: 'a' });
    await waitFor(async () => (await stateOf(a)) === 'failed');
    assert.equal(server.attempts.get(a), undefined);
    outbox.close();
  });

  it('a refusal no retry can change fails only that message', async () => {
    const server = new SendServer();
    const { outbox, stateOf, drained, store } = await harness(server);
    outbox.setReady(true);
    server.invalid.add('a');
    const a = await outbox.send(1, { text: 'a' });
    const b = await outbox.send(1, { text: 'b' });
    await waitFor(async () => (await store.outbox()).every((e) => e.state === 'failed'));
    assert.equal(await stateOf(a), 'failed');
    assert.equal(await stateOf(b), 'sent');
    assert.equal(server.attempts.get(a), 1);
    assert.equal(await drained(), false);
    outbox.close();
  });

  it('remove(cmid) drops a failed message and refuses one that is still sending', async () => {
    const server = new SendServer();
    const { outbox, stateOf, store, changes } = await harness(server, { ...fastPolicy, budgetMs: 100 });
    const a = await outbox.send(1, { text: 'a' });
    await assert.rejects(outbox.remove(a), (e: ProtocolError) => e.code === ErrorCode.Invalid);
    await waitFor(async () => (await stateOf(a)) === 'failed');
    await outbox.remove(a);
    assert.deepEqual(await store.outbox(), []);
    assert.deepEqual(changes.at(-1), { conv: 1, states: [], removed: [a] });
    outbox.close();
  });

  it('resumes the queue from the store on start', async () => {
    const store = new MemoryStore();
    const entry: OutboxEntry = {
      cmid: 'left-over',
      conv: 1,
      kind: 1,
      text: 'from before',
      createdAt: 1,
      state: 'sending',
    };
    await store.putOutbox(entry);
    const server = new SendServer();
    const { outbox, drained } = await harness(server, fastPolicy, store);
    outbox.setReady(true);
    await waitFor(drained);
    assert.deepEqual(
      server.stored.map((s) => s.cmid),
      ['left-over'],
    );
    outbox.close();
  });

  it('rejects an empty or too long text before storing anything', async () => {
    const { outbox, store } = await harness(new SendServer());
    await assert.rejects(outbox.send(1, { text: '  ' }), (e: ProtocolError) => e.code === ErrorCode.Invalid);
    await assert.rejects(
      outbox.send(1, { text: 'x'.repeat(8001) }),
      (e: ProtocolError) => e.code === ErrorCode.Invalid,
    );
    assert.deepEqual(await store.outbox(), []);
    outbox.close();
  });
});

/** Uploads the test finishes by hand: each transfer waits until the test completes or fails it. */
class HeldUploads {
  readonly started: OutboxEntry[] = [];
  private readonly jobs = new Map<string, { hooks: TransferHooks; done(m: Media): void; fail(e: Error): void }>();

  transfer: Transfer = (entry, hooks) =>
    new Promise((resolve, reject) => {
      this.started.push(entry);
      this.jobs.set(entry.cmid, { hooks, done: resolve, fail: reject });
      hooks.signal.addEventListener('abort', () => reject(hooks.signal.reason));
    });

  job(cmid: string) {
    const job = this.jobs.get(cmid);
    assert.ok(job, `an upload of ${cmid} runs`);
    return job;
  }
}

const stored = (id: string): Media => ({ id, mime: 'image/png', size: 3, width: 1, height: 1 });
const image = (text?: string) => ({
  kind: MsgKind.Image,
  file: new Blob(['png'], { type: 'image/png' }),
  upload: { mime: 'image/png', size: 3 },
  ...(text === undefined ? {} : { text }),
});

describe('Outbox with images and voice notes', () => {
  it('a text sent after an image waits for the image, which is sent once uploaded; earlier texts and other conversations go at once', async () => {
    const server = new SendServer();
    const uploads = new HeldUploads();
    const { outbox, store, drained } = await harness(server, pipelined, undefined, { transfer: uploads.transfer });
    outbox.setReady(true);
    await outbox.send(1, { text: 'before' });
    const photo = await outbox.sendMedia(1, image('photo'));
    const after = await outbox.send(1, { text: 'after' });
    await outbox.send(2, { text: 'elsewhere' });
    assert.equal((await store.outboxEntry(photo))?.file?.size, 3, 'the file is stored with the entry');
    await waitFor(() => server.texts(1).length === 1 && server.texts(2).length === 1 && uploads.started.length === 1);
    assert.deepEqual(server.texts(1), ['before']);
    assert.equal(server.attempts.get(after), undefined, 'the text behind the uploading image was not sent');
    assert.equal(await (await store.outboxEntry(after))?.state, 'sending');

    uploads.job(photo).done(stored('m1'));
    await waitFor(drained);
    assert.deepEqual(server.texts(1), ['before', 'photo', 'after']);
    const send = server.stored.find((b) => b.cmid === photo);
    assert.equal(send?.kind, MsgKind.Image);
    assert.equal(send?.media, 'm1');
    outbox.close();
  });

  it('reports upload progress at most every 100 ms, the latest value last, and none once the upload is done', async () => {
    const server = new SendServer();
    const uploads = new HeldUploads();
    const { outbox, changes, drained } = await harness(server, fastPolicy, undefined, { transfer: uploads.transfer });
    outbox.setReady(true);
    const photo = await outbox.sendMedia(1, image());
    await waitFor(() => uploads.started.length === 1);
    const { hooks } = uploads.job(photo);
    const before = changes.length;
    for (let i = 1; i <= 10; i++) hooks.progress(i / 10);
    assert.equal(changes.length, before + 1, 'the first report goes out at once, the others wait');
    assert.equal(outbox.progress(photo), 1);
    await waitFor(() => changes.length === before + 2, 2000, 'the trailing report');
    await sleep(150);
    assert.equal(changes.length, before + 2, 'ten reports in a burst make two changes');
    uploads.job(photo).done(stored('m2'));
    await waitFor(drained);
    assert.equal(outbox.progress(photo), undefined);
    outbox.close();
  });

  it('remove() cancels an image whose file is uploading: the upload stops, the server drops it, and the text behind goes', async () => {
    const server = new SendServer();
    const uploads = new HeldUploads();
    const cancelled: (string | undefined)[] = [];
    const { outbox, store, changes, drained } = await harness(server, fastPolicy, undefined, {
      transfer: uploads.transfer,
      cancelTransfer: (entry) => cancelled.push(entry.upload?.id),
    });
    outbox.setReady(true);
    const photo = await outbox.sendMedia(1, image('photo'));
    await outbox.send(1, { text: 'after' });
    await waitFor(() => uploads.started.length === 1);
    const { hooks } = uploads.job(photo);
    await hooks.save({ mime: 'image/png', size: 3, id: 'upload-7' });
    await outbox.remove(photo);
    assert.equal(hooks.signal.aborted, true);
    assert.deepEqual(cancelled, ['upload-7']);
    assert.equal(await store.outboxEntry(photo), undefined);
    assert.ok(changes.some((c) => c.removed.includes(photo)));
    await waitFor(drained);
    assert.deepEqual(server.texts(1), ['after']);
    outbox.close();
  });

  it('remove() refuses an image whose upload is done, since its SEND may have gone', async () => {
    const server = new SendServer();
    let release!: () => void;
    server.gate = new Promise((resolve) => {
      release = resolve;
    });
    const uploads = new HeldUploads();
    const { outbox, drained } = await harness(server, fastPolicy, undefined, { transfer: uploads.transfer });
    outbox.setReady(true);
    const photo = await outbox.sendMedia(1, image());
    await waitFor(() => uploads.started.length === 1);
    uploads.job(photo).done(stored('m3'));
    await waitFor(() => server.attempts.has(photo));
    await assert.rejects(outbox.remove(photo), (e) => e instanceof ProtocolError && e.code === ErrorCode.Invalid);
    release();
    await waitFor(drained);
    outbox.close();
  });

  it('a file the server refuses for good fails only its message; the text behind it is sent', async () => {
    const server = new SendServer();
    const uploads = new HeldUploads();
    const { outbox, store, drained, stateOf } = await harness(server, fastPolicy, undefined, {
      transfer: uploads.transfer,
    });
    outbox.setReady(true);
    const photo = await outbox.sendMedia(1, image('photo'));
    await outbox.send(1, { text: 'after' });
    await waitFor(() => uploads.started.length === 1);
    uploads.job(photo).fail(new ServerError({ code: ErrorCode.UnsupportedMedia, message: 'not an image' }));
    await waitFor(async () => (await stateOf(photo)) === 'failed');
    await waitFor(async () => (await store.outbox()).length === 1);
    assert.deepEqual(server.texts(1), ['after']);
    assert.match((await store.outboxEntry(photo))?.error ?? '', /UNSUPPORTED_MEDIA/);
    await outbox.remove(photo);
    assert.equal(await drained(), true);
    outbox.close();
  });

  it('an upload that gives up fails its message and those behind it; retry resumes it from its saved state, same cmid', async () => {
    const server = new SendServer();
    const uploads = new HeldUploads();
    const { outbox, stateOf, drained } = await harness(server, fastPolicy, undefined, { transfer: uploads.transfer });
    outbox.setReady(true);
    const photo = await outbox.sendMedia(1, image('photo'));
    const after = await outbox.send(1, { text: 'after' });
    await waitFor(() => uploads.started.length === 1);
    await uploads.job(photo).hooks.save({ mime: 'image/png', size: 3, sha256: 'ab', id: 'upload-1', chunkSize: 2 });
    uploads.job(photo).fail(linkDown('the network is gone'));
    await waitFor(async () => (await stateOf(photo)) === 'failed' && (await stateOf(after)) === 'failed');
    assert.deepEqual(server.stored, []);

    await outbox.retry(photo);
    await waitFor(() => uploads.started.length === 2);
    const resumed = uploads.started[1];
    assert.equal(resumed?.cmid, photo);
    assert.equal(resumed?.upload?.id, 'upload-1', 'the retry continues the same upload');
    assert.equal(await resumed?.file?.text(), 'png');
    uploads.job(photo).done(stored('m4'));
    await waitFor(async () => (await stateOf(photo)) === 'sent');
    await outbox.retry(after);
    await waitFor(drained);
    assert.deepEqual(server.texts(1), ['photo', 'after']);
    outbox.close();
  });

  it('an upload that keeps going past the send budget does not fail its message or the ones behind it', async () => {
    const server = new SendServer();
    const uploads = new HeldUploads();
    const policy = { ...fastPolicy, budgetMs: 100 };
    const { outbox, stateOf, drained } = await harness(server, policy, undefined, { transfer: uploads.transfer });
    outbox.setReady(true);
    const photo = await outbox.sendMedia(1, image('photo'));
    const after = await outbox.send(1, { text: 'after' });
    await waitFor(() => uploads.started.length === 1);
    await sleep(250);
    assert.equal(await stateOf(photo), 'sending');
    assert.equal(await stateOf(after), 'sending');
    uploads.job(photo).done(stored('m5'));
    await waitFor(drained);
    assert.deepEqual(server.texts(1), ['photo', 'after']);
    outbox.close();
  });

  it('on start, an image left sending resumes its upload with the file and the state saved in the store', async () => {
    const store = new MemoryStore();
    const file = new Blob(['png'], { type: 'image/png' });
    const upload = { mime: 'image/png', size: 3, sha256: 'cd', id: 'upload-9', chunkSize: 2 };
    await store.putOutbox({ cmid: 'c-9', conv: 1, kind: MsgKind.Image, createdAt: 1, state: 'sending', file, upload });
    const server = new SendServer();
    const uploads = new HeldUploads();
    const { outbox, drained } = await harness(server, fastPolicy, store, { transfer: uploads.transfer });
    outbox.setReady(true);
    await waitFor(() => uploads.started.length === 1);
    assert.deepEqual(uploads.started[0]?.upload, upload);
    assert.equal(await uploads.started[0]?.file?.text(), 'png');
    uploads.job('c-9').done(stored('m6'));
    await waitFor(drained);
    assert.equal(server.stored[0]?.media, 'm6');
    outbox.close();
  });
});
