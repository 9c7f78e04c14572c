import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { ConvKind, decodeBody, type Frame, type Message, Op, ReceiptKind } from '@synkey/protocol';
import { mintToken } from '@synkey/server';
import { WebSocket } from 'ws';
import type { Engine, EngineEvent } from '../src/engine';
import type { FetchLike } from '../src/http-transport';
import { MemoryStore } from '../src/memory-store';
import type { ChatMessage } from '../src/state';
import type { WebSocketConstructor } from '../src/ws-transport';
import { connectWebSocket } from '../src/ws-transport';
import { waitFor } from './helpers';
import { cleanup, engineFor, freshServer, SECRET, stopServer, tappedWebSocket, tempDir, view } from './server-harness';

afterEach(cleanup);

async function online(...engines: Engine[]): Promise<void> {
  await waitFor(() => engines.every((e) => e.state === 'online'), 10_000, 'engines online');
}

async function seesConversation(engine: Engine, conv: number): Promise<void> {
  await waitFor(async () => (await engine.conversations()).some((c) => c.id === conv), 10_000, `conversation ${conv}`);
}

/** Waits until `engine` holds `count` stored messages of `conv` and returns them. */
async function messagesWhen(engine: Engine, conv: number, count: number, limit = 200): Promise<ChatMessage[]> {
  let last: ChatMessage[] = [];
  await waitFor(
    async () => {
      last = (await engine.messages(conv, { limit })).filter((m) => m.id !== undefined);
      return last.length === count;
    },
    20_000,
    `${count} messages in conversation ${conv}`,
  );
  return last;
}

const throwingWebSocket = class {
  constructor() {
    throw new Error('no WebSocket for this client');
  }
} as unknown as WebSocketConstructor;

describe('engine against the server', () => {
  it('two users exchange messages over WebSocket; a third user on the HTTP short link sees the same group identically', async () => {
    const server = await freshServer();
    let posts = 0;
    const countingFetch: FetchLike = (url, init) => {
      posts++;
      return fetch(url, init);
    };
    const alice = engineFor(server.url, 'alice');
    const bob = engineFor(server.url, 'bob');
    const carol = engineFor(server.url, 'carol', {
      transport: 'http',
      WebSocket: throwingWebSocket,
      fetch: countingFetch,
    });
    await online(alice, bob, carol);

    const group = await alice.createConversation({ kind: ConvKind.Group, members: ['bob', 'carol'], title: 'trio' });
    await seesConversation(bob, group.id);
    await seesConversation(carol, group.id);
    await alice.send(group.id, { text: 'hi bob' });
    await alice.send(group.id, { text: 'hi carol' });
    await messagesWhen(bob, group.id, 2);
    await bob.send(group.id, { text: 'hi alice' });
    await bob.send(group.id, { text: 'and carol' });
    await messagesWhen(alice, group.id, 4);
    await alice.send(group.id, { text: 'bye' });

    const [a, b, c] = await Promise.all([alice, bob, carol].map((e) => messagesWhen(e, group.id, 5)));
    assert.deepEqual(
      a?.map((m) => m.text),
      ['hi bob', 'hi carol', 'hi alice', 'and carol', 'bye'],
    );
    assert.deepEqual(view(b ?? []), view(a ?? []));
    assert.deepEqual(view(c ?? []), view(a ?? []));
    assert.ok(posts > 0, 'carol used the short link');

    const summary = async (e: Engine) => {
      const conv = (await e.conversations()).find((x) => x.id === group.id);
      return {
        kind: conv?.kind,
        title: conv?.title,
        lastSeq: conv?.lastSeq,
        members: conv?.members.map((m) => m.user).sort(),
      };
    };
    const expected = { kind: ConvKind.Group, title: 'trio', lastSeq: 5, members: ['alice', 'bob', 'carol'] };
    for (const e of [alice, bob, carol]) await waitFor(async () => (await summary(e)).lastSeq === 5);
    for (const e of [alice, bob, carol]) assert.deepEqual(await summary(e), expected);

    await bob.markRead(group.id);
    await carol.markRead(group.id);
    await waitFor(async () => {
      const mine = (await alice.messages(group.id)).filter((m) => m.sender === 'alice');
      return mine.length === 3 && mine.every((m) => m.state === 'read');
    });
    const carolsConv = (await carol.conversations()).find((x) => x.id === group.id);
    assert.equal(carolsConv?.unread, 0);
  });

  it('a SEND whose ack was dropped is resent with the same cmid: one stored message, the original ack', async () => {
    const server = await freshServer();
    const acks: Frame[] = [];
    const tapped = tappedWebSocket({
      inbound: (f) => {
        // Without NOTIFYs no sync can tell the engine that the message is stored: only a resend can.
        if (f.op === Op.NOTIFY) return true;
        if (f.op !== Op.SEND_ACK) return false;
        acks.push(f);
        return acks.length === 1;
      },
    });
    const alice = engineFor(server.url, 'alice', { WebSocket: tapped, sendPolicy: { ackTimeoutMs: 300 } });
    await online(alice);
    const conv = await alice.createConversation({ kind: ConvKind.Direct, members: ['bob'] });
    const cmid = await alice.send(conv.id, { text: 'exactly once' });
    const [msg] = await messagesWhen(alice, conv.id, 1);
    assert.equal(msg?.cmid, cmid);
    assert.ok(acks.length >= 2, 'the SEND was answered again');
    const decoded = acks.map((f) => decodeBody(Op.SEND_ACK, f.body));
    for (const ack of decoded) assert.deepEqual(ack, decoded[0]);
    assert.equal(decoded[0]?.id, msg?.id);
    const stored = server.store.history('alice', { conv: conv.id }).msgs;
    assert.deepEqual(
      stored.map((m) => m.cmid),
      [cmid],
    );
  });

  it('resending a cmid on a new link after the old one dropped gets the original ack and stores nothing new', async () => {
    const server = await freshServer();
    await server.store.ensureUser('bob');
    const token = await mintToken(SECRET, 'alice');
    const open = () =>
      connectWebSocket({
        url: server.wsUrl,
        WebSocket,
        auth: { token, device: 'raw' },
        connectTimeoutMs: 5_000,
        onNotify: () => {},
      });
    const first = await open();
    const { conv } = await first.request(Op.CONV_CREATE, { kind: ConvKind.Direct, members: ['bob'] }, 5_000);
    const original = await first.request(Op.SEND, { cmid: 'cmid-1', conv: conv.id, kind: 1, text: 'one' }, 5_000);
    first.close();
    const second = await open();
    const again = await second.request(Op.SEND, { cmid: 'cmid-1', conv: conv.id, kind: 1, text: 'changed' }, 5_000);
    second.close();
    assert.deepEqual(again, original);
    assert.deepEqual(
      server.store.history('alice', { conv: conv.id }).msgs.map((m) => [m.cmid, m.text]),
      [['cmid-1', 'one']],
    );
  });

  it('a message whose ack was lost before a reconnect is matched by cmid after the reconnect and stored once', async () => {
    const server = await freshServer();
    let dropAcks = true;
    const tapped = tappedWebSocket({ inbound: (f) => dropAcks && f.op === Op.SEND_ACK });
    const alice = engineFor(server.url, 'alice', { WebSocket: tapped, sendPolicy: { ackTimeoutMs: 60_000 } });
    await online(alice);
    const conv = await alice.createConversation({ kind: ConvKind.Direct, members: ['bob'] });
    const cmid = await alice.send(conv.id, { text: 'ack lost' });
    await waitFor(() => server.store.history('alice', { conv: conv.id }).msgs.length === 1);
    dropAcks = false;
    server.kick('alice');
    const [msg] = await messagesWhen(alice, conv.id, 1);
    assert.equal(msg?.cmid, cmid);
    assert.notEqual(msg?.state, 'sending');
    assert.equal(server.store.history('alice', { conv: conv.id }).msgs.length, 1);
  });

  it('a client offline while 1,000 messages arrive catches up from its old SynKey, exactly those in order over several pages, and acks them', async () => {
    const server = await freshServer();
    const aliceStore = new MemoryStore();
    const alice = engineFor(server.url, 'alice', { store: aliceStore });
    const bobStore = new MemoryStore();
    const firstBob = engineFor(server.url, 'bob', { store: bobStore, deviceId: 'bob-phone' });
    await online(alice, firstBob);
    const conv = await alice.createConversation({ kind: ConvKind.Direct, members: ['bob'] });
    await alice.send(conv.id, { text: 'before' });
    await messagesWhen(firstBob, conv.id, 1);
    const caughtUp = server.store.maxSeq('bob');
    await waitFor(async () => (await bobStore.synKey()).seq === caughtUp, 10_000, 'bob synced before going offline');
    await firstBob.close();
    const before = await bobStore.synKey();

    const texts = Array.from({ length: 1000 }, (_, i) => `m${i}`);
    for (const text of texts) await alice.send(conv.id, { text });
    await waitFor(async () => (await aliceStore.outbox()).length === 0, 60_000, 'alice to drain her outbox');

    const syncs: { epoch: number; seq: number }[] = [];
    const received: Message[] = [];
    const tapped = tappedWebSocket({
      outbound: (f) => {
        if (f.op === Op.SYNC) syncs.push(decodeBody(Op.SYNC, f.body));
      },
      inbound: (f) => {
        if (f.op === Op.SYNC_REPLY)
          for (const e of decodeBody(Op.SYNC_REPLY, f.body).events) if (e.msg) received.push(e.msg);
        return false;
      },
    });
    const bob = engineFor(server.url, 'bob', { store: bobStore, deviceId: 'bob-phone', WebSocket: tapped });
    const newest = server.store.maxSeq('bob');
    await waitFor(async () => (await bobStore.synKey()).seq === newest, 30_000, 'bob to catch up');

    assert.deepEqual(syncs[0], { epoch: before.epoch, seq: before.seq, limit: 200 });
    assert.ok(syncs.length >= 5, `${syncs.length} SYNC pages`);
    assert.deepEqual(
      received.map((m) => m.text),
      texts,
    );
    assert.deepEqual(
      received.map((m) => m.convSeq),
      texts.map((_, i) => i + 2),
    );
    const stored = await bobStore.messages(conv.id, { limit: 5_000 });
    assert.deepEqual(
      stored.map((m) => m.text),
      ['before', ...texts],
    );

    const bobsPosition = () =>
      server.store.listConversations('alice')[0]?.members.find((m) => m.user === 'bob')?.delivered;
    await waitFor(() => bobsPosition() === 1001, 10_000, "bob's delivered position on the server");
    await waitFor(async () => (await alice.messages(conv.id, { limit: 1 }))[0]?.state === 'delivered');
    assert.equal(bob.state, 'online');
  });

  it('a new server database (new epoch) makes the client drop its state and resync cleanly', async () => {
    const first = await freshServer();
    const port = first.port;
    const alice = engineFor(first.url, 'alice');
    const bobStore = new MemoryStore();
    const bob = engineFor(first.url, 'bob', { store: bobStore });
    const events: EngineEvent[] = [];
    bob.subscribe((e) => events.push(e));
    await online(alice, bob);
    const old = await alice.createConversation({ kind: ConvKind.Group, members: ['bob'], title: 'old' });
    await alice.send(old.id, { text: 'from the old world' });
    await messagesWhen(bob, old.id, 1);

    await stopServer(first);
    const second = await freshServer({ port });
    await waitFor(() => events.some((e) => e.type === 'reset'), 20_000, 'a reset event');
    await online(alice, bob);
    const fresh = await alice.createConversation({ kind: ConvKind.Group, members: ['bob'], title: 'new' });
    await alice.send(fresh.id, { text: 'from the new world' });
    const [msg] = await messagesWhen(bob, fresh.id, 1);
    assert.equal(msg?.text, 'from the new world');
    await seesConversation(bob, fresh.id);

    const convs = await bob.conversations();
    assert.deepEqual(
      convs.map((c) => c.title),
      ['new'],
    );
    assert.equal((await bobStore.synKey()).epoch, second.store.epoch);
    const all = await bobStore.messages(fresh.id, { limit: 100 });
    assert.deepEqual(
      all.map((m) => m.text),
      ['from the new world'],
    );
  });

  for (const window of [1, 32]) {
    it(`keeps per-conversation order when acks are lost and the link drops mid-stream (window ${window})`, async () => {
      const server = await freshServer();
      const seen = new Set<string>();
      const tapped = tappedWebSocket({
        inbound: (f) => {
          if (f.op !== Op.SEND_ACK) return false;
          const { cmid } = decodeBody(Op.SEND_ACK, f.body);
          if (seen.has(cmid)) return false;
          seen.add(cmid);
          return seen.size % 5 === 0;
        },
      });
      const aliceStore = new MemoryStore();
      const alice = engineFor(server.url, 'alice', {
        store: aliceStore,
        WebSocket: tapped,
        sendPolicy: { ackTimeoutMs: 400, window },
      });
      const bob = engineFor(server.url, 'bob');
      await online(alice, bob);
      const direct = await alice.createConversation({ kind: ConvKind.Direct, members: ['bob'] });
      const group = await alice.createConversation({ kind: ConvKind.Group, members: ['bob', 'carol'], title: 'g' });
      const sent = new Map<number, string[]>([
        [direct.id, []],
        [group.id, []],
      ]);
      for (let i = 0; i < 120; i++) {
        const conv = i % 2 === 0 ? direct.id : group.id;
        const text = `${conv}-${i}`;
        sent.get(conv)?.push(text);
        await alice.send(conv, { text });
        if (i === 60) server.kick('alice');
      }
      await waitFor(async () => (await aliceStore.outbox()).length === 0, 60_000, 'the outbox to drain');
      for (const [conv, texts] of sent) {
        const got = await messagesWhen(bob, conv, texts.length);
        assert.deepEqual(
          got.map((m) => m.text),
          texts,
        );
        assert.deepEqual(
          server.store.history('alice', { conv, limit: 200 }).msgs.map((m) => m.text),
          texts,
        );
      }
    });
  }

  it("keeps conversation order when the server's rate limit refuses pipelined SENDs of an unpaced client", async () => {
    const server = await freshServer({ rateLimit: { perSecond: 50, burst: 100 } });
    let refused = 0;
    const tapped = tappedWebSocket({
      inbound: (f) => {
        if (f.op === Op.ERROR && decodeBody(Op.ERROR, f.body).code === 'RATE_LIMITED') refused++;
        return false;
      },
    });
    const aliceStore = new MemoryStore();
    const alice = engineFor(server.url, 'alice', {
      store: aliceStore,
      WebSocket: tapped,
      rateLimit: false,
      sendPolicy: { window: 32 },
    });
    await online(alice);
    const direct = await alice.createConversation({ kind: ConvKind.Direct, members: ['bob'] });
    const group = await alice.createConversation({ kind: ConvKind.Group, members: ['bob', 'carol'], title: 'g' });
    const texts = Array.from({ length: 120 }, (_, i) => `r${i}`);
    for (const [i, text] of texts.entries()) await alice.send(i % 2 === 0 ? direct.id : group.id, { text });
    await waitFor(async () => (await aliceStore.outbox()).length === 0, 60_000, 'the outbox to drain');
    assert.ok(refused > 0, 'the server refused some requests');
    for (const [conv, parity] of [
      [direct.id, 0],
      [group.id, 1],
    ] as const) {
      assert.deepEqual(
        server.store.history('alice', { conv, limit: 200 }).msgs.map((m) => m.text),
        texts.filter((_, i) => i % 2 === parity),
      );
    }
  });

  it('a message fails after bounded retries while the server is gone; retry(cmid) sends it with the same cmid once it is back', async () => {
    const dbPath = join(tempDir(), 'chat.db');
    const first = await freshServer({ dbPath });
    const port = first.port;
    const alice = engineFor(first.url, 'alice', {
      sendPolicy: { ackTimeoutMs: 300, budgetMs: 1_500 },
    });
    await online(alice);
    const conv = await alice.createConversation({ kind: ConvKind.Direct, members: ['bob'] });
    await stopServer(first);
    await waitFor(() => alice.state !== 'online');

    const cmid = await alice.send(conv.id, { text: 'while the server was away' });
    const stateOf = async () => (await alice.messages(conv.id)).find((m) => m.cmid === cmid)?.state;
    await waitFor(async () => (await stateOf()) === 'failed', 10_000, 'the message to fail');

    const second = await freshServer({ port, dbPath });
    await online(alice);
    assert.equal(await stateOf(), 'failed');
    assert.equal(second.store.history('alice', { conv: conv.id }).msgs.length, 0);
    await alice.retry(cmid);
    await waitFor(async () => (await stateOf()) === 'sent', 10_000, 'the retried message to be sent');
    assert.deepEqual(
      second.store.history('alice', { conv: conv.id }).msgs.map((m) => m.cmid),
      [cmid],
    );
  });

  it('asks getToken again when the token has expired, and connects with the new one', async () => {
    const server = await freshServer();
    let calls = 0;
    const alice = engineFor(server.url, 'alice', {
      getToken: () => mintToken(SECRET, 'alice', { ttlSeconds: calls++ === 0 ? -60 : 3600 }),
    });
    const errors: EngineEvent[] = [];
    alice.subscribe((e) => e.type === 'error' && errors.push(e));
    await online(alice);
    assert.equal(calls, 2);
    assert.ok(errors.some((e) => e.type === 'error' && (e.error as { code?: string }).code === 'TOKEN_EXPIRED'));
  });

  it('auto falls back to HTTP when the WebSocket is blocked, keeps working, and returns to the WebSocket', async () => {
    const server = await freshServer();
    let blocked = true;
    const Flaky = class extends WebSocket {
      constructor(url: string) {
        super(blocked ? 'ws://127.0.0.1:1/ws' : url);
      }
    } as unknown as WebSocketConstructor;
    const alice = engineFor(server.url, 'alice', {
      transport: 'auto',
      WebSocket: Flaky,
      reconnectPolicy: { minMs: 50, maxMs: 400, probe: { minMs: 200, maxMs: 400 } },
    });
    const bob = engineFor(server.url, 'bob');
    await waitFor(() => alice.state === 'degraded', 10_000, 'degraded');
    await online(bob);
    const conv = await alice.createConversation({ kind: ConvKind.Direct, members: ['bob'] });
    await alice.send(conv.id, { text: 'over http' });
    await messagesWhen(bob, conv.id, 1);
    await bob.send(conv.id, { text: 'back over ws' });
    await messagesWhen(alice, conv.id, 2);
    blocked = false;
    await waitFor(() => alice.state === 'online', 10_000, 'back online over the WebSocket');
    await waitFor(() => server.connections('alice') === 1);
    await alice.send(conv.id, { text: 'over ws again' });
    const got = await messagesWhen(bob, conv.id, 3);
    assert.deepEqual(
      got.map((m) => m.text),
      ['over http', 'back over ws', 'over ws again'],
    );
  });

  it('messages() reads the store first and completes pages from HISTORY when the store lacks them', async () => {
    const server = await freshServer();
    const alice = engineFor(server.url, 'alice');
    await online(alice);
    const conv = await alice.createConversation({ kind: ConvKind.Direct, members: ['bob'] });
    const texts = Array.from({ length: 120 }, (_, i) => `h${i}`);
    for (const text of texts) await alice.send(conv.id, { text });
    await waitFor(() => server.store.history('alice', { conv: conv.id, limit: 200 }).msgs.length === 120);

    // A store that knows the conversation and is synced to the newest event, but holds no messages.
    const sparse = new MemoryStore();
    const newest = server.store.maxSeq('bob');
    const [snapshot] = server.store.listConversations('bob');
    await sparse.applySync(
      [{ conv: snapshot as NonNullable<typeof snapshot> }],
      { epoch: server.store.epoch, seq: newest },
      { expected: { epoch: 0, seq: 0 }, me: 'bob' },
    );
    await sparse.setMeta('user', 'bob');
    const bob = engineFor(server.url, 'bob', { store: sparse });
    await online(bob);

    const newestPage = await bob.messages(conv.id, { limit: 50 });
    assert.deepEqual(
      newestPage.map((m) => m.text),
      texts.slice(70),
    );
    const older = await bob.messages(conv.id, { before: 71, limit: 50 });
    assert.deepEqual(
      older.map((m) => m.text),
      texts.slice(20, 70),
    );
    assert.equal((await sparse.messages(conv.id, { limit: 200 })).length, 100);
    const oldest = await bob.messages(conv.id, { before: 21, limit: 50 });
    assert.deepEqual(
      oldest.map((m) => m.text),
      texts.slice(0, 20),
    );
  });

  it('messages() completes from HISTORY a page whose stored messages below `before` leave a gap (a sync still running)', async () => {
    const server = await freshServer();
    const alice = engineFor(server.url, 'alice');
    await online(alice);
    const conv = await alice.createConversation({ kind: ConvKind.Direct, members: ['bob'] });
    const texts = Array.from({ length: 100 }, (_, i) => `g${i}`);
    for (const text of texts) await alice.send(conv.id, { text });
    await waitFor(() => server.store.history('alice', { conv: conv.id, limit: 200 }).msgs.length === 100);

    // The store holds the conversation and its 60 oldest messages, as a catch-up half way through would.
    const partial = new MemoryStore();
    const [snapshot] = server.store.listConversations('bob');
    const oldest = server.store.history('bob', { conv: conv.id, before: 61, limit: 60 }).msgs;
    await partial.applySync(
      [{ conv: snapshot as NonNullable<typeof snapshot> }, ...oldest.map((msg) => ({ msg }))],
      { epoch: server.store.epoch, seq: server.store.maxSeq('bob') },
      { expected: { epoch: 0, seq: 0 }, me: 'bob' },
    );
    await partial.setMeta('user', 'bob');
    const bob = engineFor(server.url, 'bob', { store: partial });
    await online(bob);
    const page = await bob.messages(conv.id, { before: 101, limit: 20 });
    assert.deepEqual(
      page.map((m) => m.text),
      texts.slice(80, 100),
    );
  });

  it('markRead records the read position locally at once and on the server', async () => {
    const server = await freshServer();
    const alice = engineFor(server.url, 'alice');
    const bob = engineFor(server.url, 'bob');
    await online(alice, bob);
    const conv = await alice.createConversation({ kind: ConvKind.Direct, members: ['bob'] });
    for (const text of ['a', 'b', 'c']) await alice.send(conv.id, { text });
    await messagesWhen(bob, conv.id, 3);
    await waitFor(async () => (await bob.conversations())[0]?.unread === 3);
    await bob.markRead(conv.id);
    assert.equal((await bob.conversations())[0]?.unread, 0);
    const bobOnServer = () => server.store.listConversations('alice')[0]?.members.find((m) => m.user === 'bob');
    assert.equal(bobOnServer()?.read, 3);
    await waitFor(async () => (await alice.messages(conv.id)).every((m) => m.state === 'read'));
    assert.equal(ReceiptKind.Read, 2);
  });
});
