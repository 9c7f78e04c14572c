import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConvKind, ErrorCode, type Media, type Message, MsgKind, Op, type SyncEvent } from '@synkey/protocol';
import { mintToken, type RunningServer, startServer } from '../src/index';
import { MediaApi, noisePng, solid } from './media-client';
import { RawClient } from './raw-client';

let server: RunningServer;
const api: Record<string, MediaApi> = {};
const link: Record<string, RawClient> = {};
let conv: number;

before(async () => {
  server = await startServer({ port: 0, secret: 'media-access-secret', log: () => {} });
  for (const user of ['alice', 'bob', 'carol']) {
    const token = await mintToken(server.secret, user);
    api[user] = new MediaApi(server.url, token);
    link[user] = (await RawClient.login(server.wsUrl, token, `${user}-phone`)).client;
  }
  const created = await link.alice!.request(Op.CONV_CREATE, { kind: ConvKind.Direct, members: ['bob'] });
  conv = (created.body.conv as { id: number }).id;
});
after(async () => {
  for (const c of Object.values(link)) c.close();
  await server.close();
});

async function sendImage(user: string, cmid: string, media: string, text?: string) {
  return link[user]!.request(Op.SEND, { cmid, conv, kind: MsgKind.Image, media, ...(text ? { text } : {}) });
}

async function syncAll(user: string): Promise<SyncEvent[]> {
  const r = await link[user]!.request(Op.SYNC, { epoch: server.store.epoch, seq: 0, limit: 500 });
  return r.body.events as SyncEvent[];
}

describe('image messages', () => {
  test('an image message reaches the other member through SYNC carrying the server’s media record', async () => {
    const media = await api.alice!.uploadMedia(await noisePng(320, 240), { name: 'cat.png' });
    const ack = await sendImage('alice', 'img-1', media.id, 'look');
    assert.equal(ack.op, Op.SEND_ACK, JSON.stringify(ack.body));
    const msg = (await syncAll('bob')).map((e) => e.msg).find((m) => m?.id === ack.body.id) as Message;
    assert.equal(msg.kind, MsgKind.Image);
    assert.equal(msg.text, 'look');
    assert.deepEqual(msg.media, media);
    assert.deepEqual(msg.media, {
      id: media.id,
      mime: 'image/png',
      size: media.size,
      width: 320,
      height: 240,
      name: 'cat.png',
    });

    const history = await link.bob!.request(Op.HISTORY, { conv });
    assert.deepEqual((history.body.msgs as Message[]).at(-1)?.media, media);
    const list = await link.bob!.request(Op.CONV_LIST, {});
    const summary = (list.body.convs as { id: number; last?: Message }[]).find((c) => c.id === conv);
    assert.deepEqual(summary?.last?.media, media);
  });

  test("SEND with someone else's media, an unfinished upload, a missing or mismatched media is refused and stores nothing", async () => {
    const bobs = await api.bob!.uploadMedia(await solid(30, 30, 'png'));
    const png = await noisePng(100, 100);
    const opened = await api.alice!.open(png);
    const unfinished = opened.json.upload as string;
    const before = server.store.maxSeq('bob');
    const cases: [string, Record<string, unknown>, string][] = [
      ["bob's media", { kind: MsgKind.Image, media: bobs.id }, ErrorCode.NotFound],
      ['an unknown media id', { kind: MsgKind.Image, media: 'nope' }, ErrorCode.NotFound],
      ['an unfinished upload', { kind: MsgKind.Image, media: unfinished }, ErrorCode.UploadIncomplete],
      ['an image with no media', { kind: MsgKind.Image, text: 'caption only' }, ErrorCode.Invalid],
      ['text with media', { kind: MsgKind.Text, text: 'hi', media: bobs.id }, ErrorCode.Invalid],
    ];
    let n = 0;
    for (const [what, body, code] of cases) {
      const r = await link.alice!.request(Op.SEND, { cmid: `bad-${n++}`, conv, ...body } as never);
      assert.equal(r.op, Op.ERROR, what);
      assert.equal(r.body.code, code, what);
    }
    const voice = await voiceMedia('alice');
    const wrongKind = await sendImage('alice', 'bad-kind', voice.id);
    assert.equal(wrongKind.body.code, ErrorCode.Invalid, 'audio media in an image message');
    assert.equal(server.store.maxSeq('bob'), before);
    assert.equal((await api.bob!.req('GET', `/media/${bobs.id}`)).status, 200);
    assert.equal((await api.alice!.req('GET', `/media/${bobs.id}`)).status, 404, 'the refused SEND shared nothing');
  });
});

/** A stored voice note of `user` (a fake WebM in one part). */
async function voiceMedia(user: string): Promise<Media> {
  const data = Buffer.concat([Buffer.from([0x1a, 0x45, 0xdf, 0xa3]), Buffer.alloc(100, 1)]);
  const r = await link[user]!.request(Op.VOICE_PART, {
    upload: `v-${Math.random()}`,
    index: 0,
    data,
    last: true,
    durationMs: 1000,
  });
  return r.body.media as Media;
}

describe('serving media', () => {
  let media: Media;
  let bytes: Buffer;
  before(async () => {
    media = await api.alice!.uploadMedia(await noisePng(200, 150));
    bytes = (await api.alice!.req('GET', `/media/${media.id}`)).bytes;
  });

  test('only the uploader until it is sent; then the conversation’s members, never anyone else (404)', async () => {
    assert.equal((await api.alice!.req('GET', `/media/${media.id}`)).status, 200);
    for (const user of ['bob', 'carol']) {
      const r = await api[user]!.req('GET', `/media/${media.id}`);
      assert.equal(r.status, 404, user);
      assert.equal(r.json.code, ErrorCode.NotFound);
      assert.equal((await api[user]!.req('GET', `/media/${media.id}/thumb`)).status, 404, user);
    }
    assert.equal((await sendImage('alice', 'serve-1', media.id)).op, Op.SEND_ACK);
    const bob = await api.bob!.req('GET', `/media/${media.id}`);
    assert.equal(bob.status, 200);
    assert.ok(bob.bytes.equals(bytes));
    assert.equal((await api.bob!.req('GET', `/media/${media.id}/thumb`)).status, 200);
    assert.equal((await api.carol!.req('GET', `/media/${media.id}`)).status, 404, 'carol is not a member');
  });

  test('GET carries ETag, private Cache-Control, Accept-Ranges; If-None-Match gives 304; HEAD has no body', async () => {
    const r = await api.alice!.req('GET', `/media/${media.id}`);
    const etag = r.headers.get('etag');
    assert.match(etag ?? '', /^"[0-9a-f]{32}"$/);
    assert.match(r.headers.get('cache-control') ?? '', /^private, max-age=\d+/);
    assert.equal(r.headers.get('accept-ranges'), 'bytes');
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(Number(r.headers.get('content-length')), media.size);
    const cached = await api.alice!.req('GET', `/media/${media.id}`, undefined, { 'if-none-match': etag! });
    assert.equal(cached.status, 304);
    assert.equal(cached.bytes.length, 0);
    const head = await api.alice!.req('HEAD', `/media/${media.id}`);
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(media.size));
    assert.equal(head.bytes.length, 0);
  });

  test('a single Range is answered 206 with exactly those bytes; an unsatisfiable one 416', async () => {
    const part = await api.alice!.req('GET', `/media/${media.id}`, undefined, { range: 'bytes=100-199' });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 100-199/${media.size}`);
    assert.ok(part.bytes.equals(bytes.subarray(100, 200)));
    const tail = await api.alice!.req('GET', `/media/${media.id}`, undefined, { range: 'bytes=-10' });
    assert.equal(tail.status, 206);
    assert.ok(tail.bytes.equals(bytes.subarray(bytes.length - 10)));
    const open = await api.alice!.req('GET', `/media/${media.id}`, undefined, { range: `bytes=${media.size - 5}-` });
    assert.ok(open.bytes.equals(bytes.subarray(bytes.length - 5)));
    const beyond = await api.alice!.req('GET', `/media/${media.id}`, undefined, { range: `bytes=${media.size}-` });
    assert.equal(beyond.status, 416);
    assert.equal(beyond.headers.get('content-range'), `bytes */${media.size}`);
    const stale = await api.alice!.req('GET', `/media/${media.id}`, undefined, {
      range: 'bytes=0-9',
      'if-range': '"something-else"',
    });
    assert.equal(stale.status, 200, 'If-Range with another validator gets the whole file');
    assert.equal(stale.bytes.length, media.size);
  });

  test('a thumbnail of a voice note, an unknown id or an unknown route is 404', async () => {
    const voice = await voiceMedia('alice');
    assert.equal((await api.alice!.req('GET', `/media/${voice.id}`)).status, 200);
    assert.equal((await api.alice!.req('GET', `/media/${voice.id}/thumb`)).status, 404);
    assert.equal((await api.alice!.req('GET', '/media/unknown-id')).status, 404);
    assert.equal((await api.alice!.req('GET', `/media/${media.id}/other`)).status, 404);
  });
});
