import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConvKind, ErrorCode, frame, Limits, type Media, type Message, MsgKind, Op } from '@synkey/protocol';
import { mintToken, type RunningServer, startServer } from '../src/index';
import { fakeOgg, fakeWebm, MediaApi } from './media-client';
import { postLink, RawClient } from './raw-client';

let server: RunningServer;
let alice: RawClient;
let bob: RawClient;
let aliceApi: MediaApi;
let bobApi: MediaApi;
let aliceToken: string;

before(async () => {
  server = await startServer({ port: 0, secret: 'media-voice-secret', log: () => {} });
  aliceToken = await mintToken(server.secret, 'alice');
  const bobToken = await mintToken(server.secret, 'bob');
  alice = (await RawClient.login(server.wsUrl, aliceToken)).client;
  bob = (await RawClient.login(server.wsUrl, bobToken)).client;
  aliceApi = new MediaApi(server.url, aliceToken);
  bobApi = new MediaApi(server.url, bobToken);
});
after(async () => {
  alice.close();
  bob.close();
  await server.close();
});

/** Cuts `bytes` into `n` parts. */
function split(bytes: Buffer, n: number): Buffer[] {
  const size = Math.ceil(bytes.length / n);
  return Array.from({ length: n }, (_, i) => bytes.subarray(i * size, (i + 1) * size));
}

describe('voice parts over the long link', () => {
  test('parts out of order and repeated are acked one by one; the part completing the set carries the media', async () => {
    const note = fakeWebm(50_000);
    const parts = split(note, 5);
    const upload = 'note-1';
    const send = (index: number) =>
      alice.request(Op.VOICE_PART, {
        upload,
        index,
        data: parts[index]!,
        ...(index === 4 ? { last: true, mime: 'audio/webm;codecs=opus', durationMs: 4200 } : {}),
      });
    for (const index of [3, 1, 1, 4, 0]) {
      const ack = await send(index);
      assert.equal(ack.op, Op.PART_ACK, JSON.stringify(ack.body));
      assert.deepEqual(ack.body, { upload, index }, `part ${index}`);
    }
    const last = await send(2);
    const media = last.body.media as Media;
    assert.deepEqual({ ...media, id: '' }, { id: '', mime: 'audio/webm', size: note.length, durationMs: 4200 });
    const again = await send(1);
    assert.deepEqual(again.body, { upload, index: 1, media }, 'a resent part of a stored note answers the media');

    const file = await aliceApi.req('GET', `/media/${media.id}`);
    assert.equal(file.headers.get('content-type'), 'audio/webm');
    assert.ok(file.bytes.equals(note), 'the parts were joined in index order');
    const range = await aliceApi.req('GET', `/media/${media.id}`, undefined, { range: 'bytes=1000-1999' });
    assert.equal(range.status, 206);
    assert.ok(range.bytes.equals(note.subarray(1000, 2000)));
  });

  test('a voice message reaches the other member with its duration, and the recorder’s duration is capped', async () => {
    const created = await alice.request(Op.CONV_CREATE, { kind: ConvKind.Direct, members: ['bob'] });
    const conv = (created.body.conv as { id: number }).id;
    const ack = await alice.request(Op.VOICE_PART, {
      upload: 'long-note',
      index: 0,
      data: fakeOgg(3000),
      last: true,
      durationMs: 99 * 60_000,
    });
    const media = ack.body.media as Media;
    assert.equal(media.mime, 'audio/ogg');
    assert.equal(media.durationMs, Limits.maxVoiceMs);
    assert.equal((await bobApi.req('GET', `/media/${media.id}`)).status, 404);
    const sent = await alice.request(Op.SEND, { cmid: 'voice-1', conv, kind: MsgKind.Voice, media: media.id });
    assert.equal(sent.op, Op.SEND_ACK, JSON.stringify(sent.body));
    const synced = await bob.request(Op.SYNC, { epoch: server.store.epoch, seq: 0 });
    const msg = (synced.body.events as { msg?: Message }[]).map((e) => e.msg).find((m) => m?.id === sent.body.id);
    assert.equal(msg?.kind, MsgKind.Voice);
    assert.deepEqual(msg?.media, media);
    assert.equal((await bobApi.req('GET', `/media/${media.id}`)).status, 200);
    const asImage = await alice.request(Op.SEND, { cmid: 'voice-2', conv, kind: MsgKind.Image, media: media.id });
    assert.equal(asImage.body.code, ErrorCode.Invalid);
  });

  test('a note that is not WebM, Ogg or MP4 is UNSUPPORTED_MEDIA with the request’s seq; the link stays up', async () => {
    const r = await alice.request(Op.VOICE_PART, {
      upload: 'bad-note',
      index: 0,
      data: Buffer.from('RIFF....WAVEfmt this is a wav, not accepted'),
      last: true,
    });
    assert.equal(r.op, Op.ERROR);
    assert.equal(r.body.code, ErrorCode.UnsupportedMedia);
    assert.notEqual(r.body.fatal, true);
    assert.equal((await alice.request(Op.PING, {})).op, Op.PONG);
    const mp4 = Buffer.concat([Buffer.from([0, 0, 0, 0x20]), Buffer.from('ftypM4A '), Buffer.alloc(40)]);
    const ok = await alice.request(Op.VOICE_PART, { upload: 'bad-note', index: 0, data: mp4, last: true });
    assert.equal((ok.body.media as Media).mime, 'audio/mp4', 'the refused upload was dropped, so its id is free');
  });

  test('bad parts are INVALID: an empty or long id, an index past the bound or past the final part, oversized data', async () => {
    const bad: [string, Parameters<RawClient['request']>[1]][] = [
      ['empty upload id', { upload: '', index: 0, data: Buffer.alloc(1) }],
      ['long upload id', { upload: 'u'.repeat(Limits.maxId + 1), index: 0, data: Buffer.alloc(1) }],
      ['index past the bound', { upload: 'x', index: 1024, data: Buffer.alloc(1) }],
      ['oversized part', { upload: 'x', index: 0, data: Buffer.alloc(Limits.maxVoicePart + 1) }],
    ];
    for (const [what, body] of bad) {
      const r = await alice.request(Op.VOICE_PART, body as never);
      assert.equal(r.body.code, ErrorCode.Invalid, what);
    }
    await alice.request(Op.VOICE_PART, { upload: 'y', index: 1, data: Buffer.alloc(10), last: true });
    const past = await alice.request(Op.VOICE_PART, { upload: 'y', index: 2, data: Buffer.alloc(10) });
    assert.equal(past.body.code, ErrorCode.Invalid, 'past the final part');
    const second = await alice.request(Op.VOICE_PART, { upload: 'y', index: 0, data: Buffer.alloc(10), last: true });
    assert.equal(second.body.code, ErrorCode.Invalid, 'a second final part');
  });

  test('a note over maxVoiceBytes is MEDIA_TOO_LARGE and dropped', async () => {
    const dave = (await RawClient.login(server.wsUrl, await mintToken(server.secret, 'dave'))).client;
    const part = Buffer.alloc(Limits.maxVoicePart, 1);
    const count = Math.floor(Limits.maxVoiceBytes / Limits.maxVoicePart);
    for (let index = 0; index < count; index++) {
      const ack = await dave.request(Op.VOICE_PART, { upload: 'big', index, data: part });
      assert.equal(ack.op, Op.PART_ACK, JSON.stringify(ack.body));
    }
    const over = await dave.request(Op.VOICE_PART, { upload: 'big', index: count, data: part });
    assert.equal(over.body.code, ErrorCode.MediaTooLarge);
    const after = await dave.request(Op.VOICE_PART, { upload: 'big', index: 0, data: fakeWebm(100), last: true });
    assert.equal((after.body.media as Media).size, 100, 'the dropped upload held nothing any more');
    dave.close();
  });
});

describe('voice parts over the short link', () => {
  test('the same parts POSTed to /link are acked and joined', async () => {
    const note = fakeOgg(9000);
    const parts = split(note, 3);
    const auth = frame(Op.AUTH, 1, { token: aliceToken, device: 'http' });
    const first = await postLink(server.url, [
      auth,
      frame(Op.VOICE_PART, 2, { upload: 'http-note', index: 2, data: parts[2]!, last: true, durationMs: 900 }),
      frame(Op.VOICE_PART, 3, { upload: 'http-note', index: 0, data: parts[0]! }),
    ]);
    assert.equal(first.status, 200);
    assert.deepEqual(
      first.got.slice(1).map((g) => [g.op, g.seq, g.body.media]),
      [
        [Op.PART_ACK, 2, undefined],
        [Op.PART_ACK, 3, undefined],
      ],
    );
    const second = await postLink(server.url, [
      auth,
      frame(Op.VOICE_PART, 2, { upload: 'http-note', index: 1, data: parts[1]! }),
    ]);
    const media = second.got[1]?.body.media as Media;
    assert.deepEqual({ ...media, id: '' }, { id: '', mime: 'audio/ogg', size: note.length, durationMs: 900 });
    assert.ok((await aliceApi.req('GET', `/media/${media.id}`)).bytes.equals(note));
  });
});
