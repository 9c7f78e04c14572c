import 'fake-indexeddb/auto';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ConvKind, decodeBody, decodeFrames, encodeFrame, type Frame, MsgKind, Op } from '@synkey/protocol';
import type { Engine } from '../src/engine';
import type { FetchLike } from '../src/http-transport';
import { openIdbStore } from '../src/idb/idb-store';
import { VOICE_PART_BYTES } from '../src/media/voice-sender';
import { waitFor } from './helpers';
import { voiceNote } from './media-fixtures';
import { cleanup, engineFor, freshServer, tappedWebSocket } from './server-harness';

afterEach(cleanup);

/** A PART_ACK that is lost is noticed after this long, and its part sent again. */
const policy = { ackTimeoutMs: 400, maxAttempts: 5, budgetMs: 10_000, backoff: { minMs: 20, maxMs: 80 } };
const PARTS = 5;
const SIZE = VOICE_PART_BYTES * (PARTS - 1) + 1_000;
let n = 0;
const dbName = () => `synkey:media-voice-${process.pid}-${++n}`;

const partIndex = (f: Frame) => decodeBody(Op.VOICE_PART, f.body).index;

async function received(bob: Engine, conv: number, note: Blob, durationMs: number): Promise<void> {
  await waitFor(async () => (await bob.messages(conv)).length === 1, 15_000, 'bob gets the voice note');
  const [msg] = await bob.messages(conv);
  assert.equal(msg?.kind, MsgKind.Voice);
  assert.equal(msg?.media?.mime, 'audio/webm');
  assert.equal(msg?.media?.durationMs, durationMs);
  assert.equal(msg?.media?.size, note.size);
  const file = await bob.mediaFile(msg?.media?.id as string);
  assert.deepEqual(new Uint8Array(await file.arrayBuffer()), new Uint8Array(await note.arrayBuffer()));
}

describe('voice notes against the server', () => {
  it('over the WebSocket: parts go with their acks; a part whose PART_ACK is lost is sent again, alone', async () => {
    const server = await freshServer();
    const sent: number[] = [];
    let dropped = false;
    const WebSocket = tappedWebSocket({
      outbound: (f) => {
        if (f.op === Op.VOICE_PART) sent.push(partIndex(f));
      },
      inbound: (f) => {
        if (dropped || f.op !== Op.PART_ACK || decodeBody(Op.PART_ACK, f.body).index !== 1) return false;
        dropped = true;
        return true;
      },
    });
    const alice = engineFor(server.url, 'alice', { WebSocket, sendPolicy: policy });
    const bob = engineFor(server.url, 'bob');
    const conv = (await alice.createConversation({ kind: ConvKind.Direct, members: ['bob'] })).id;
    const note = voiceNote(SIZE);
    const progress: number[] = [];
    alice.subscribe((e) => {
      if (e.type !== 'messages') return;
      for (const m of e.messages) if (m.progress !== undefined) progress.push(m.progress);
    });
    const cmid = await alice.sendVoice(conv, note, 2345);
    const local = (await alice.messages(conv)).find((m) => m.cmid === cmid);
    assert.equal(local?.state, 'sending');
    assert.equal(local?.local?.durationMs, 2345);
    assert.equal(local?.local?.file.size, SIZE);
    await received(bob, conv, note, 2345);
    assert.equal(dropped, true);
    assert.deepEqual(
      sent.toSorted((a, b) => a - b),
      [0, 1, 1, 2, 3, 4],
      'every part once, part 1 twice',
    );
    assert.ok(progress.some((p) => p > 0 && p < 1));
    await waitFor(async () => (await alice.messages(conv)).every((m) => m.state !== 'sending'));
  });

  it('over the HTTP short link: the same, with the first POST of part 1 dropped on the way', async () => {
    const server = await freshServer();
    const sent: number[] = [];
    let dropped = false;
    /** The real fetch, minus the first VOICE_PART 1 in a request body. */
    const fetchLink: FetchLike = async (url, init) => {
      const frames = decodeFrames(init.body, { maxFrame: 1 << 24, maxFrames: 1 << 12 }).filter((f) => {
        if (f.op !== Op.VOICE_PART) return true;
        const index = partIndex(f);
        sent.push(index);
        if (index !== 1 || dropped) return true;
        dropped = true;
        return false;
      });
      const body = new Uint8Array(Buffer.concat(frames.map((f) => encodeFrame(f.op, f.seq, f.body))));
      return fetch(url, { ...init, body });
    };
    const alice = engineFor(server.url, 'alice', { transport: 'http', fetch: fetchLink, sendPolicy: policy });
    const bob = engineFor(server.url, 'bob', { transport: 'http' });
    const conv = (await alice.createConversation({ kind: ConvKind.Direct, members: ['bob'] })).id;
    const note = voiceNote(SIZE);
    await alice.sendVoice(conv, note, 4000);
    await received(bob, conv, note, 4000);
    assert.equal(dropped, true);
    assert.deepEqual(
      sent.toSorted((a, b) => a - b),
      [0, 1, 1, 2, 3, 4],
    );
  });

  it('after an engine restart on the same IndexedDB, only the parts not acknowledged are sent again', async () => {
    const server = await freshServer();
    const name = dbName();
    let store = await openIdbStore(name);
    // The first run hears PART_ACKs of parts 0 and 1 only, and waits long for the others.
    const deaf = tappedWebSocket({
      inbound: (f) => f.op === Op.PART_ACK && decodeBody(Op.PART_ACK, f.body).index >= 2,
    });
    let alice = engineFor(server.url, 'alice', {
      store,
      WebSocket: deaf,
      sendPolicy: { ...policy, ackTimeoutMs: 30_000 },
    });
    const bob = engineFor(server.url, 'bob');
    const conv = (await alice.createConversation({ kind: ConvKind.Direct, members: ['bob'] })).id;
    const note = voiceNote(SIZE);
    const cmid = await alice.sendVoice(conv, note, 3000);
    await waitFor(
      async () => (await store.outboxEntry(cmid))?.upload?.acked?.length === 2,
      10_000,
      'two parts acknowledged and saved',
    );
    assert.deepEqual((await store.outboxEntry(cmid))?.upload?.acked, [0, 1]);
    await alice.close();
    await store.close();

    store = await openIdbStore(name);
    const sent: number[] = [];
    const WebSocket = tappedWebSocket({
      outbound: (f) => {
        if (f.op === Op.VOICE_PART) sent.push(partIndex(f));
      },
    });
    alice = engineFor(server.url, 'alice', { store, WebSocket, sendPolicy: policy });
    await received(bob, conv, note, 3000);
    assert.deepEqual(
      sent.toSorted((a, b) => a - b),
      [2, 3, 4],
    );
    await alice.close();
    await store.close();
  });

  it('bytes that are no audio container fail with UNSUPPORTED_MEDIA', async () => {
    const server = await freshServer();
    const alice = engineFor(server.url, 'alice', { sendPolicy: policy });
    const conv = (await alice.createConversation({ kind: ConvKind.Direct, members: ['bob'] })).id;
    const cmid = await alice.sendVoice(conv, new Blob(['no header here'], { type: 'audio/webm' }), 1000);
    await waitFor(async () => (await alice.messages(conv)).find((m) => m.cmid === cmid)?.state === 'failed');
    assert.match((await alice.messages(conv)).find((m) => m.cmid === cmid)?.error ?? '', /UNSUPPORTED_MEDIA/);
  });
});
