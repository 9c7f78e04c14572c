import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import {
  ConvKind,
  concatFrames,
  decodeBody,
  decodeFrames,
  ErrorCode,
  encodeFrame,
  type Frame,
  frame,
  Op,
} from '@synkey/protocol';
import type { RunningServer } from '@synkey/server';
import type { Engine } from '../src/engine';
import type { FetchLike } from '../src/http-transport';
import { MemoryStore } from '../src/memory-store';
import type { WebSocketConstructor } from '../src/ws-transport';
import { waitFor } from './helpers';
import { cleanup, engineFor, freshServer, tappedWebSocket } from './server-harness';

afterEach(cleanup);

/** The server's PING interval in these tests: short, yet well above event-loop stalls of a busy machine. */
const HEARTBEAT_MS = 1000;

/** What crossed a WebSocket whose NOTIFY pushes may be dropped, as a network losing them would. */
interface Traffic {
  WebSocket: WebSocketConstructor;
  dropNotify: boolean;
  notifiesDropped: number;
  auths: number;
  syncs: number;
  /** Heartbeat PINGs from the server, with the SynKey each carried. */
  pings: { epoch?: number; seq?: number }[];
}

function traffic(dropNotify: boolean): Traffic {
  const t: Traffic = {
    dropNotify,
    notifiesDropped: 0,
    auths: 0,
    syncs: 0,
    pings: [],
    WebSocket: tappedWebSocket({
      inbound: (f) => {
        if (f.op === Op.PING && f.seq === 0) t.pings.push(decodeBody(Op.PING, f.body));
        if (f.op !== Op.NOTIFY || !t.dropNotify) return false;
        t.notifiesDropped++;
        return true;
      },
      outbound: (f) => {
        if (f.op === Op.AUTH) t.auths++;
        if (f.op === Op.SYNC) t.syncs++;
      },
    }),
  };
  return t;
}

async function online(...engines: Engine[]): Promise<void> {
  await waitFor(() => engines.every((e) => e.state === 'online'), 10_000, 'engines online');
}

/** Waits until `store` has synced `user`'s whole timeline as the server holds it (HISTORY pages don't count). */
async function caughtUp(store: MemoryStore, server: RunningServer, user: string, timeoutMs = 10_000): Promise<void> {
  const newest = () => server.store.maxSeq(user);
  await waitFor(async () => (await store.synKey()).seq === newest(), timeoutMs, `${user}'s SynKey at ${newest()}`);
}

describe('heartbeat: the server PING names the newest SynKey', () => {
  it('a client whose NOTIFYs are all lost still gets a new message within a heartbeat, on the same link', async () => {
    const server = await freshServer({ heartbeatMs: HEARTBEAT_MS });
    const seen = traffic(true);
    const store = new MemoryStore();
    const alice = engineFor(server.url, 'alice');
    const bob = engineFor(server.url, 'bob', { WebSocket: seen.WebSocket, store });
    await online(alice, bob);

    const conv = await alice.createConversation({ kind: ConvKind.Direct, members: ['bob'] });
    await alice.send(conv.id, { text: 'are you there?' });
    await waitFor(() => server.store.maxSeq('bob') === 2, 10_000, 'the conversation and the message on the timeline');
    await caughtUp(store, server, 'bob', 10 * HEARTBEAT_MS);
    assert.deepEqual(
      (await store.messages(conv.id, { limit: 10 })).map((m) => m.text),
      ['are you there?'],
    );
    assert.ok(seen.notifiesDropped > 0, 'the NOTIFYs that announced it were dropped');
    assert.equal(seen.auths, 1, 'no reconnect fetched it: the heartbeat did');
    assert.ok(
      seen.pings.some((p) => p.epoch === server.store.epoch && p.seq === server.store.maxSeq('bob')),
      "a PING carried bob's newest SynKey",
    );
  });

  it('an up-to-date client answers heartbeats without a SYNC', async () => {
    const server = await freshServer({ heartbeatMs: HEARTBEAT_MS });
    const seen = traffic(false);
    const alice = engineFor(server.url, 'alice');
    const store = new MemoryStore();
    const bob = engineFor(server.url, 'bob', { WebSocket: seen.WebSocket, store });
    await online(alice, bob);
    const conv = await alice.createConversation({ kind: ConvKind.Direct, members: ['bob'] });
    await alice.send(conv.id, { text: 'hello' });
    await waitFor(() => server.store.maxSeq('bob') === 2, 10_000, 'the conversation and the message on the timeline');
    const newest = server.store.maxSeq('bob');
    await caughtUp(store, server, 'bob');

    // Passes a NOTIFY asked for during the catch-up may still run; they end long before the next heartbeat.
    const settled = seen.pings.length;
    await waitFor(() => seen.pings.length > settled, 10 * HEARTBEAT_MS, 'a heartbeat');
    const syncs = seen.syncs;
    const pings = seen.pings.length;
    await waitFor(() => seen.pings.length >= pings + 3, 10 * HEARTBEAT_MS, 'three more heartbeats');
    assert.deepEqual(
      seen.pings.slice(pings).map((p) => [p.epoch, p.seq]),
      seen.pings.slice(pings).map(() => [server.store.epoch, newest]),
      'each PING named the SynKey bob already has',
    );
    assert.equal(seen.syncs, syncs, 'no SYNC for a heartbeat that brings nothing new');
    assert.equal(seen.auths, 1);
  });

  it('a short-link client whose SYNC failed after a NOTIFY catches up when its next POLL runs out', async () => {
    const server = await freshServer();
    let failNextSync = false;
    let failed = 0;
    // Answers the SYNC with a non-fatal ERROR, as a server hiccup would: the link stays up, the news is spent.
    const hiccup: FetchLike = async (url, init) => {
      const response = await fetch(url, init);
      const bytes = new Uint8Array(await response.arrayBuffer());
      if (!failNextSync || bytes.length === 0)
        return { ok: response.ok, status: response.status, arrayBuffer: () => Promise.resolve(bytes.buffer) };
      const frames = decodeFrames(bytes).map((f: Frame) => {
        const reply = f.op === Op.SYNC_REPLY ? decodeBody(Op.SYNC_REPLY, f.body) : undefined;
        if (!failNextSync || !reply?.events.some((e) => e.msg)) return encodeFrame(f.op, f.seq, f.body);
        failNextSync = false;
        failed++;
        return frame(Op.ERROR, f.seq, { code: ErrorCode.Internal, message: 'lost by the test', retryMs: 1000 });
      });
      const out = concatFrames(frames);
      return { ok: response.ok, status: response.status, arrayBuffer: () => Promise.resolve(out.slice().buffer) };
    };
    const store = new MemoryStore();
    const alice = engineFor(server.url, 'alice');
    const bob = engineFor(server.url, 'bob', {
      store,
      transport: 'http',
      fetch: hiccup,
      pollWaitMs: 500,
    });
    await online(alice, bob);
    const conv = await alice.createConversation({ kind: ConvKind.Direct, members: ['bob'] });
    await caughtUp(store, server, 'bob');

    failNextSync = true;
    await alice.send(conv.id, { text: 'after a hiccup' });
    await waitFor(() => failed === 1, 10_000, 'the SYNC that failed');
    await caughtUp(store, server, 'bob');
    assert.equal(bob.state, 'online');
  });
});
