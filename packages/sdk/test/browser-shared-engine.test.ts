import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConvKind, ErrorCode, ProtocolError } from '@synkey/protocol';
import type { RunningServer } from '@synkey/server';
import type { Session } from '../src/browser/engine-host';
import type { OpenStore } from '../src/browser/shared-engine';
import { MemoryStore } from '../src/memory-store';
import { observed } from './browser-channels';
import { configFor, messagesWithCmid, recording, type Tabs, tabsPerTest, within } from './browser-tabs';
import { sleep, waitFor } from './helpers';
import { noisePng, voiceNote } from './media-fixtures';
import { freshServer } from './server-harness';

const tabs = tabsPerTest();

async function ownerOnline(session: Session): Promise<void> {
  await waitFor(
    async () => {
      const info = await session.info();
      return info.owner && info.state === 'online';
    },
    5000,
    'the session owns an online engine',
  );
}

/** Messages of `conv` the server stored for `user` with this cmid. */
function storedWithCmid(server: RunningServer, user: string, conv: number, cmid: string) {
  return server.store.history(user, { conv, limit: 200 }).msgs.filter((m) => m.cmid === cmid);
}

/** Two tabs of alice: `a` owns the engine (online), `b` follows; a group with bob exists. */
async function twoTabs(server: RunningServer, options: { wrapA?: Parameters<Tabs['host']>[0] } = {}) {
  const hostA = tabs().host(options.wrapA);
  const hooksA = recording('alice');
  const a = tabs().open(hostA, configFor(server.url, 'alice'), hooksA);
  await ownerOnline(a);
  const hostB = tabs().host();
  const hooksB = recording('alice');
  const b = tabs().open(hostB, configFor(server.url, 'alice'), hooksB);
  const conv = await a.createConversation({ kind: ConvKind.Group, members: ['bob'], title: 'pair' });
  return { hostA, hooksA, a, hostB, hooksB, b, conv };
}

describe('SharedEngine across tabs (Web Locks + BroadcastChannel, real engine and server)', () => {
  it('two tabs of one user open one WebSocket; the second follows and reports owner false', async () => {
    const server = await freshServer();
    const { a, b } = await twoTabs(server);
    const infoB = await b.info();
    assert.equal(infoB.owner, false);
    assert.equal(infoB.state, 'online', "the follower reports the owner's connection state");
    assert.equal(infoB.user, 'alice');
    assert.equal((await a.info()).owner, true);
    await sleep(100);
    assert.equal(server.connections('alice'), 1);
    assert.equal(tabs().locks.heldNames().length, 1);
  });

  it("a send from the follower tab is stored once and reaches both tabs' event listeners as sent", async () => {
    const server = await freshServer();
    const { b, conv, hooksA, hooksB } = await twoTabs(server);
    assert.equal(await b.send(conv.id, { text: 'from the follower' }, 'cmid-follow-1'), 'cmid-follow-1');
    await waitFor(() => storedWithCmid(server, 'alice', conv.id, 'cmid-follow-1').length === 1, 5000, 'stored');
    const sentIn = (events: typeof hooksA.events) =>
      messagesWithCmid(events, 'cmid-follow-1').some((m) => m.id !== undefined && m.state === 'sent');
    await waitFor(() => sentIn(hooksA.events) && sentIn(hooksB.events), 5000, 'both tabs saw it sent');
    // Both saw it as sending first (the outbox stored it before the first attempt).
    assert.equal(messagesWithCmid(hooksB.events, 'cmid-follow-1')[0]?.state, 'sending');
    const listed = await b.messages(conv.id);
    assert.deepEqual(
      listed.map((m) => [m.cmid, m.text]),
      [['cmid-follow-1', 'from the follower']],
    );
    // Sending the same cmid again (a repeated call) stores nothing new.
    await b.send(conv.id, { text: 'from the follower' }, 'cmid-follow-1');
    await sleep(150);
    assert.equal(storedWithCmid(server, 'alice', conv.id, 'cmid-follow-1').length, 1);
    assert.equal(server.connections('alice'), 1);
  });

  it('an image and a voice note from the follower tab go through the owner’s engine; both tabs can fetch their files', async () => {
    const server = await freshServer();
    const { a, b, conv, hooksA } = await twoTabs(server);
    const png = await noisePng(64, 48);
    assert.equal(await b.sendImage(conv.id, png, { caption: 'from the follower' }, 'cmid-img-1'), 'cmid-img-1');
    const note = voiceNote(2_000);
    assert.equal(await b.sendVoice(conv.id, note, 1_500, 'cmid-voice-1'), 'cmid-voice-1');
    await waitFor(() => storedWithCmid(server, 'alice', conv.id, 'cmid-voice-1').length === 1, 10_000, 'stored');
    const [image] = storedWithCmid(server, 'alice', conv.id, 'cmid-img-1');
    assert.deepEqual([image?.text, image?.media?.width, image?.media?.height], ['from the follower', 64, 48]);
    const [voice] = storedWithCmid(server, 'alice', conv.id, 'cmid-voice-1');
    assert.equal(voice?.media?.durationMs, 1_500);
    assert.ok(
      messagesWithCmid(hooksA.events, 'cmid-img-1').some((m) => m.local?.width === 64),
      'a local preview',
    );
    const fromFollower = await b.mediaFile(voice?.media?.id as string);
    assert.deepEqual(new Uint8Array(await fromFollower.arrayBuffer()), new Uint8Array(await note.arrayBuffer()));
    assert.match((await a.mediaFile(image?.media?.id as string, 'thumb')).type, /^image\//);
  });

  it('closing the owner hands the engine to the other tab: one connection again, info().owner true there', async () => {
    const server = await freshServer();
    const { a, b, hostA, hostB } = await twoTabs(server);
    await a.close();
    assert.equal(hostA.size, 0);
    await ownerOnline(b);
    await waitFor(() => server.connections('alice') === 1, 5000, 'one connection');
    await sleep(100);
    assert.equal(server.connections('alice'), 1);
    assert.equal(hostB.size, 1);
    // The new owner serves from its own engine: conversations come back from the server's sync.
    await waitFor(async () => (await b.conversations()).length === 1, 5000, 'the conversation synced');
  });

  it('a send in flight while the owner closes completes exactly once, run by the next owner', async () => {
    const server = await freshServer();
    const { a, b, conv } = await twoTabs(server);
    const sending = b.send(conv.id, { text: 'during handover' }, 'cmid-handover');
    const infoDuring = b.info();
    const closing = a.close(); // at once: the owner stops listening before the call reaches it
    assert.equal(await within(sending, 5000, 'send'), 'cmid-handover');
    await closing;
    assert.equal((await infoDuring).owner, true, 'answered by this tab, which owns the engine now');
    await waitFor(() => storedWithCmid(server, 'alice', conv.id, 'cmid-handover').length > 0, 5000, 'stored');
    await sleep(200);
    assert.equal(storedWithCmid(server, 'alice', conv.id, 'cmid-handover').length, 1);
    await waitFor(() => server.connections('alice') === 1, 5000, 'one connection');
  });

  it('a send the owner had already taken when it closed is not failed with "closed": the next owner completes it once', async () => {
    const server = await freshServer();
    let a: Session | undefined;
    let closing: Promise<void> | undefined;
    const { b, conv } = await twoTabs(server, {
      wrapA: {
        wrap: (channel) =>
          observed(channel, (data) => {
            const m = data as { t?: string; method?: string };
            // The owner's bus has just taken the call (its engine call is scheduled): close now.
            if (m.t === 'call' && m.method === 'send' && a && !closing) closing = a.close();
          }),
      },
    }).then((t) => {
      a = t.a;
      return t;
    });
    const sending = b.send(conv.id, { text: 'taken then closed' }, 'cmid-taken');
    sending.catch(() => undefined);
    assert.equal(await within(sending, 5000, 'send'), 'cmid-taken');
    assert.ok(closing, 'the owner closed after taking the call');
    await closing;
    await waitFor(() => storedWithCmid(server, 'alice', conv.id, 'cmid-taken').length > 0, 5000, 'stored');
    await sleep(200);
    assert.equal(storedWithCmid(server, 'alice', conv.id, 'cmid-taken').length, 1);
  });

  it('closing the last session closes the engine: no connection, no lock, the host is empty', async () => {
    const server = await freshServer();
    const { a, b, hostA, hostB } = await twoTabs(server);
    await a.close();
    await ownerOnline(b);
    await b.close();
    await waitFor(() => server.connections('alice') === 0, 5000, 'no connection');
    assert.equal(hostA.size + hostB.size, 0);
    assert.deepEqual(tabs().locks.heldNames(), []);
    await assert.rejects(b.info(), (e: unknown) => e instanceof ProtocolError && e.code === ErrorCode.Unavailable);
  });

  it('closing a follower leaves the owner running and takes the follower out of the lock queue', async () => {
    const server = await freshServer();
    const { a, b } = await twoTabs(server);
    await b.info();
    assert.equal(tabs().locks.waiting(tabs().locks.heldNames()[0] ?? ''), 1);
    await b.close();
    assert.equal(tabs().locks.waiting(tabs().locks.heldNames()[0] ?? ''), 0);
    assert.equal((await a.info()).owner, true);
    assert.equal(server.connections('alice'), 1);
  });

  it('a session closed while its engine is still starting fails its waiting calls instead of leaving them hanging', async () => {
    const server = await freshServer();
    const host = tabs().host();
    const s = tabs().open(host, configFor(server.url, 'alice'), recording('alice'));
    const info = s.info();
    const conversations = s.conversations();
    await s.close();
    for (const call of [info, conversations] as Promise<unknown>[]) {
      await assert.rejects(
        within(call, 2000, 'a call of a closed session'),
        (e: unknown) => e instanceof ProtocolError && e.code === ErrorCode.Unavailable,
      );
    }
    assert.deepEqual(tabs().locks.heldNames(), []);
    await sleep(50);
    assert.equal(server.connections('alice'), 0);
  });

  it('the store the engine opened is closed with it', async () => {
    const server = await freshServer();
    const closes: number[] = [];
    const openStore: OpenStore = async () => {
      const index = closes.push(0) - 1;
      const store = new MemoryStore();
      store.close = async () => {
        closes[index] = (closes[index] ?? 0) + 1;
      };
      return { store, degraded: false };
    };
    const host = tabs().host({ openStore });
    const s = tabs().open(host, configFor(server.url, 'alice'), recording('alice'));
    await ownerOnline(s);
    await s.close();
    assert.deepEqual(closes, [1]);
  });
});
