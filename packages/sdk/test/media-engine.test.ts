import 'fake-indexeddb/auto';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ConvKind, ErrorCode, MsgKind, ProtocolError } from '@synkey/protocol';
import { mintToken } from '@synkey/server';
import type { Engine } from '../src/engine';
import { openIdbStore } from '../src/idb/idb-store';
import type { ChatMessage } from '../src/state';
import { waitFor } from './helpers';
import { MediaTraffic, noisePng } from './media-fixtures';
import { cleanup, engineFor, freshServer, SECRET } from './server-harness';

afterEach(cleanup);

const CHUNK = 64 * 1024;
/** Retries fast and gives up after a few attempts, so failure paths finish quickly. */
const quickPolicy = { ackTimeoutMs: 2_000, maxAttempts: 3, budgetMs: 5_000, backoff: { minMs: 20, maxMs: 80 } };
let n = 0;
const dbName = () => `synkey:media-engine-${process.pid}-${++n}`;

/** Every message event of `engine` for one cmid, in order. */
function track(engine: Engine) {
  const seen: ChatMessage[] = [];
  engine.subscribe((e) => {
    if (e.type === 'messages') seen.push(...e.messages);
  });
  return (cmid: string) => seen.filter((m) => m.cmid === cmid);
}

async function stateOf(engine: Engine, conv: number, cmid: string): Promise<ChatMessage | undefined> {
  return (await engine.messages(conv)).find((m) => m.cmid === cmid);
}

async function pair(url: string, traffic: MediaTraffic, concurrency = 4) {
  const alice = engineFor(url, 'alice', {
    mediaFetch: traffic.fetch,
    media: { chunkSize: CHUNK, concurrency },
    sendPolicy: quickPolicy,
  });
  const bob = engineFor(url, 'bob');
  const conv = await alice.createConversation({ kind: ConvKind.Direct, members: ['bob'] });
  return { alice, bob, conv: conv.id };
}

describe('images against the server', () => {
  it('uploads an image in parallel chunks, each once; it appears at once with a local preview and progress, and the recipient gets it with its media', async () => {
    const server = await freshServer();
    const traffic = new MediaTraffic();
    const { alice, bob, conv } = await pair(server.url, traffic, 3);
    const events = track(alice);
    const file = await noisePng(420, 420);
    const chunks = Math.ceil(file.size / CHUNK);
    // The last chunk waits until progress between 0 and 1 was shown: a fast upload may not leave time for it.
    let shown = false;
    traffic.fate = (method) =>
      !shown && method === 'PUT' && traffic.requests.filter((r) => r.method === 'PUT').length === chunks
        ? 'hold'
        : 'pass';
    const cmid = await alice.sendImage(conv, file, { caption: 'noise', name: 'noise.png' });
    const text = await alice.send(conv, { text: 'after the photo' });

    const first = events(cmid)[0];
    assert.equal(first?.state, 'sending');
    assert.equal(first?.kind, MsgKind.Image);
    assert.deepEqual(
      { ...first?.local, file: undefined },
      { file: undefined, mime: 'image/png', size: file.size, name: 'noise.png', width: 420, height: 420 },
    );
    assert.equal(first?.local?.file.size, file.size);

    const partial = () => events(cmid).some((m) => m.progress !== undefined && m.progress > 0 && m.progress < 1);
    await waitFor(partial, 20_000, 'progress between 0 and 1');
    shown = true;
    traffic.release();
    await waitFor(async () => (await stateOf(alice, conv, text))?.state !== 'sending', 20_000, 'both sent');
    assert.deepEqual(
      [...traffic.storedChunks()].sort((a, b) => a - b),
      [...Array(chunks).keys()],
    );
    assert.equal(traffic.maxPutsInFlight, 3, 'three chunks in flight at once, never more');
    const progress = events(cmid).flatMap((m) => (m.progress === undefined ? [] : [m.progress]));
    assert.ok(
      progress.some((p) => p > 0 && p < 1),
      `progress between 0 and 1 was reported: ${progress}`,
    );
    assert.deepEqual(
      progress,
      [...progress].sort((a, b) => a - b),
      'progress only rises',
    );
    const last = events(cmid).at(-1);
    assert.equal(last?.progress, undefined);
    assert.equal(last?.local, undefined, 'once stored, the message shows the server’s media');
    assert.equal(last?.media?.width, 420);

    await waitFor(async () => (await bob.messages(conv)).length === 2, 10_000, 'bob gets both');
    const [photo, after] = await bob.messages(conv);
    assert.equal(photo?.kind, MsgKind.Image);
    assert.equal(photo?.text, 'noise');
    assert.equal(after?.text, 'after the photo', 'the text sent after the image arrives after it');
    assert.deepEqual(
      { mime: photo?.media?.mime, width: photo?.media?.width, height: photo?.media?.height, name: photo?.media?.name },
      { mime: 'image/png', width: 420, height: 420, name: 'noise.png' },
    );
    const id = photo?.media?.id as string;
    const full = await bob.mediaFile(id);
    assert.equal(full.size, photo?.media?.size);
    const thumb = await bob.mediaFile(id, 'thumb');
    assert.match(thumb.type, /^image\//);
    assert.ok(thumb.size < full.size);
    const carol = engineFor(server.url, 'carol');
    await assert.rejects(carol.mediaFile(id), (e) => e instanceof ProtocolError && e.code === ErrorCode.NotFound);
  });

  it('a chunk whose PUT fails is sent again alone; the others go once', async () => {
    const server = await freshServer();
    const traffic = new MediaTraffic();
    traffic.fate = (method, path, attempt) =>
      method === 'PUT' && path.endsWith('/2') && attempt === 1 ? 'fail' : 'pass';
    const { alice, bob, conv } = await pair(server.url, traffic);
    const file = await noisePng(300, 300);
    const chunks = Math.ceil(file.size / CHUNK);
    await alice.sendImage(conv, file);
    await waitFor(async () => (await bob.messages(conv)).length === 1, 20_000, 'bob gets the image');
    assert.equal(traffic.putAttempts(2), 2);
    for (let i = 0; i < chunks; i++) if (i !== 2) assert.equal(traffic.putAttempts(i), 1, `chunk ${i}`);
  });

  it('an upload cut off by an engine restart resumes on the same IndexedDB and sends only the chunks the server lacks', async () => {
    const server = await freshServer();
    const name = dbName();
    let store = await openIdbStore(name);
    const first = new MediaTraffic();
    first.fate = (method) =>
      method === 'PUT' && first.requests.filter((r) => r.method === 'PUT').length > 3 ? 'hold' : 'pass';
    let alice = engineFor(server.url, 'alice', {
      store,
      mediaFetch: first.fetch,
      media: { chunkSize: CHUNK, concurrency: 3 },
    });
    const bob = engineFor(server.url, 'bob');
    const conv = (await alice.createConversation({ kind: ConvKind.Direct, members: ['bob'] })).id;
    const file = await noisePng(420, 420);
    const chunks = Math.ceil(file.size / CHUNK);
    const cmid = await alice.sendImage(conv, file);
    await waitFor(() => first.storedChunks().length === 3, 10_000, 'three chunks stored');
    await alice.close();
    await store.close();
    const held = first.storedChunks();

    store = await openIdbStore(name);
    const entry = await store.outboxEntry(cmid);
    assert.equal(entry?.file?.size, file.size, 'the file survived in IndexedDB');
    assert.ok(entry?.upload?.id, 'and so did the upload id');
    const second = new MediaTraffic();
    alice = engineFor(server.url, 'alice', { store, mediaFetch: second.fetch, media: { chunkSize: CHUNK } });
    await waitFor(async () => (await bob.messages(conv)).length === 1, 20_000, 'bob gets the image');
    const missing = [...Array(chunks).keys()].filter((i) => !held.includes(i));
    assert.deepEqual(
      second.storedChunks().sort((a, b) => a - b),
      missing,
    );
    assert.equal(second.answered(200, 'GET').length, 1, 'it asked the server which chunks it has');
    assert.equal(
      second.requests.filter((r) => r.method === 'POST' && r.path === '/media/uploads').length,
      0,
      'and started no new upload',
    );
    assert.equal(
      (await bob.messages(conv))[0]?.media?.size,
      (await bob.mediaFile((await bob.messages(conv))[0]?.media?.id as string)).size,
    );
    await alice.close();
    await store.close();
  });

  it('an image the server already holds (same digest) is not uploaded again', async () => {
    const server = await freshServer();
    const traffic = new MediaTraffic();
    const { alice, bob, conv } = await pair(server.url, traffic);
    const file = await noisePng(200, 200);
    await alice.sendImage(conv, file);
    await waitFor(async () => (await bob.messages(conv)).length === 1, 20_000);
    const puts = traffic.storedChunks().length;
    assert.ok(puts > 0);
    await alice.sendImage(conv, file, { caption: 'again' });
    await waitFor(async () => (await bob.messages(conv)).length === 2, 20_000);
    assert.equal(traffic.storedChunks().length, puts, 'no chunk was sent the second time');
    assert.equal(traffic.answered(200, 'POST').filter((r) => r.path === '/media/uploads').length, 1);
    const [a, b] = await bob.messages(conv);
    assert.equal(a?.media?.size, b?.media?.size);
  });

  it('a file that is no image fails with UNSUPPORTED_MEDIA (the red !); the text sent after it still arrives', async () => {
    const server = await freshServer();
    const traffic = new MediaTraffic();
    const { alice, bob, conv } = await pair(server.url, traffic);
    const fake = new Blob([new TextEncoder().encode('<html>not a png</html>'.repeat(100))], { type: 'image/png' });
    const cmid = await alice.sendImage(conv, fake);
    await alice.send(conv, { text: 'still here' });
    await waitFor(async () => (await stateOf(alice, conv, cmid))?.state === 'failed', 10_000, 'the image fails');
    assert.match((await stateOf(alice, conv, cmid))?.error ?? '', /UNSUPPORTED_MEDIA/);
    await waitFor(async () => (await bob.messages(conv)).length === 1, 10_000);
    assert.equal((await bob.messages(conv))[0]?.text, 'still here');
    await alice.remove(cmid);
    assert.equal(await stateOf(alice, conv, cmid), undefined);
  });

  it('rejects a bad image at once and queues nothing', async () => {
    const server = await freshServer();
    const { alice, conv } = await pair(server.url, new MediaTraffic());
    const code = (c: string) => (e: unknown) => e instanceof ProtocolError && e.code === c;
    await assert.rejects(alice.sendImage(conv, new Blob([])), code(ErrorCode.Invalid));
    await assert.rejects(alice.sendImage(conv, 'x' as unknown as Blob), code(ErrorCode.Invalid));
    await assert.rejects(
      alice.sendImage(conv, new Blob(['x'], { type: 'text/plain' })),
      code(ErrorCode.UnsupportedMedia),
    );
    await assert.rejects(alice.sendImage(conv, new Blob([new Uint8Array(21 << 20)])), code(ErrorCode.MediaTooLarge));
    await assert.rejects(alice.sendImage(0, new Blob(['x'])), code(ErrorCode.Invalid));
    assert.deepEqual(await alice.messages(conv), []);
  });

  it('an upload that keeps failing ends failed; retry(cmid) resumes the same upload and sends the message once', async () => {
    const server = await freshServer();
    const traffic = new MediaTraffic();
    let network = false;
    traffic.fate = (method) => (method === 'PUT' && !network ? 'fail' : 'pass');
    const { alice, bob, conv } = await pair(server.url, traffic);
    const cmid = await alice.sendImage(conv, await noisePng(200, 200));
    await waitFor(async () => (await stateOf(alice, conv, cmid))?.state === 'failed', 10_000, 'the upload gives up');
    assert.match((await stateOf(alice, conv, cmid))?.error ?? '', /UNAVAILABLE/);
    network = true;
    await alice.retry(cmid);
    await waitFor(async () => (await bob.messages(conv)).length === 1, 20_000, 'bob gets the image');
    const creates = traffic.requests.filter((r) => r.method === 'POST' && r.path === '/media/uploads');
    assert.equal(creates.length, 1, 'the retry continued the same upload');
    assert.equal(traffic.answered(200, 'GET').length, 1);
    // Sent once: bob's device may already have acknowledged it (delivered).
    assert.match((await stateOf(alice, conv, cmid))?.state ?? '', /^(sent|delivered)$/);
    assert.equal((await bob.messages(conv)).length, 1);
  });

  it('when the server lost the uploaded copy before the SEND (NOT_FOUND), the file is uploaded again once and the message goes with the same cmid', async () => {
    const server = await freshServer();
    const traffic = new MediaTraffic();
    // The server's retention deletes the media as unsent the moment its upload completes, the first time only.
    let lose = 1;
    const fetchMedia = traffic.fetch;
    traffic.fetch = async (url, init) => {
      const res = await fetchMedia(url, init);
      if (lose > 0 && String(url).endsWith('/complete') && res.status === 200) {
        lose--;
        assert.equal(server.store.media.dropUnsent(Date.now() + 60_000, undefined, 100).dropped, 1);
      }
      return res;
    };
    const { alice, bob, conv } = await pair(server.url, traffic);
    const cmid = await alice.sendImage(conv, await noisePng(200, 200), { caption: 'second copy' });
    await waitFor(async () => (await bob.messages(conv)).length === 1, 20_000, 'bob gets the image');
    const [got] = await bob.messages(conv);
    assert.equal(got?.text, 'second copy');
    assert.equal(got?.media?.width, 200);
    assert.equal((await stateOf(alice, conv, cmid))?.cmid, cmid);
    const creates = traffic.requests.filter((r) => r.method === 'POST' && r.path === '/media/uploads');
    assert.equal(creates.length, 2, 'one upload, then one more after NOT_FOUND');
    assert.equal(lose, 0);
  });

  it('a message whose file the server keeps losing is uploaded again only once, then fails with NOT_FOUND (no loop)', async () => {
    const server = await freshServer();
    const traffic = new MediaTraffic();
    const fetchMedia = traffic.fetch;
    traffic.fetch = async (url, init) => {
      const res = await fetchMedia(url, init);
      if (String(url).endsWith('/complete') && res.status === 200)
        server.store.media.dropUnsent(Date.now() + 60_000, undefined, 100);
      return res;
    };
    const { alice, conv } = await pair(server.url, traffic);
    const cmid = await alice.sendImage(conv, await noisePng(120, 90));
    await waitFor(async () => (await stateOf(alice, conv, cmid))?.state === 'failed', 20_000, 'it gives up');
    assert.match((await stateOf(alice, conv, cmid))?.error ?? '', /NOT_FOUND/);
    const creates = traffic.requests.filter((r) => r.method === 'POST' && r.path === '/media/uploads');
    assert.equal(creates.length, 2);
  });

  it('remove() cancels an upload that is running: the server drops it and nothing is sent', async () => {
    const server = await freshServer();
    const traffic = new MediaTraffic();
    traffic.fate = (method) => (method === 'PUT' ? 'hold' : 'pass');
    const { alice, bob, conv } = await pair(server.url, traffic);
    const cmid = await alice.sendImage(conv, await noisePng(200, 200));
    await waitFor(() => traffic.requests.some((r) => r.method === 'PUT'), 10_000, 'the upload runs');
    await alice.remove(cmid);
    await waitFor(() => traffic.answered(204, 'DELETE').length === 1, 10_000, 'the server dropped the upload');
    const upload = traffic.answered(204, 'DELETE')[0]?.path as string;
    traffic.fate = () => 'pass';
    const token = await mintToken(SECRET, 'alice');
    const status = await fetch(`${server.url}${upload}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(status.status, 404);
    assert.deepEqual(await alice.messages(conv), []);
    await alice.send(conv, { text: 'instead' });
    await waitFor(async () => (await bob.messages(conv)).length === 1, 10_000);
    assert.equal((await bob.messages(conv))[0]?.text, 'instead');
  });

  it('asks getToken again when the media API says the token expired, and goes on with the new one', async () => {
    const server = await freshServer();
    const traffic = new MediaTraffic();
    const expired = await mintToken(SECRET, 'alice', { ttlSeconds: -60 });
    let tokens = 0;
    traffic.headers = (method, path, headers) =>
      method === 'POST' && path === '/media/uploads' && traffic.requests.length === 1
        ? { ...headers, authorization: `Bearer ${expired}` }
        : headers;
    const alice = engineFor(server.url, 'alice', {
      mediaFetch: traffic.fetch,
      getToken: () => {
        tokens++;
        return mintToken(SECRET, 'alice');
      },
    });
    const bob = engineFor(server.url, 'bob');
    const conv = (await alice.createConversation({ kind: ConvKind.Direct, members: ['bob'] })).id;
    const before = tokens;
    await alice.sendImage(conv, await noisePng(50, 50));
    await waitFor(async () => (await bob.messages(conv)).length === 1, 10_000);
    assert.equal(traffic.requests[0]?.status, 401);
    assert.equal(traffic.requests[1]?.status, 201);
    assert.equal(tokens, before + 1);
  });
});
