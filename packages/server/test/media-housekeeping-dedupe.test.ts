import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConvKind, ErrorCode, type Media, MsgKind, Op } from '@synkey/protocol';
import { mintToken, type RunningServer, startServer } from '../src/index';
import { MediaApi, noisePng } from './media-client';
import { RawClient } from './raw-client';

let server: RunningServer;
const api: Record<string, MediaApi> = {};
const link: Record<string, RawClient> = {};

before(async () => {
  server = await startServer({ port: 0, secret: 'media-dedupe-secret', log: () => {} });
  for (const user of ['alice', 'bob']) {
    const token = await mintToken(server.secret, user);
    api[user] = new MediaApi(server.url, token);
    link[user] = (await RawClient.login(server.wsUrl, token, `${user}-phone`)).client;
  }
});
after(async () => {
  for (const c of Object.values(link)) c.close();
  await server.close();
});

/** Bob's own conversation with carol, where he would post what he got. */
async function bobsConv(): Promise<number> {
  const r = await link.bob!.request(Op.CONV_CREATE, { kind: ConvKind.Direct, members: ['carol'] });
  return (r.body.conv as { id: number }).id;
}

describe('dedupe by digest', () => {
  test("a user who knows only the digest of another's image gets an upload to fill, never a media id of it", async () => {
    const png = await noisePng(160, 120);
    const alices = await api.alice!.uploadMedia(png);
    const bob = api.bob!;

    const opened = await bob.open(png);
    assert.equal(opened.status, 201, 'no dedupe answer: bob must upload the bytes');
    assert.equal(opened.json.media, undefined);
    const { upload, chunkSize, chunks } = opened.json as { upload: string; chunkSize: number; chunks: number };
    const status = await bob.req('GET', `/media/uploads/${upload}`);
    assert.deepEqual(status.json.have, []);
    assert.equal(status.json.media, undefined);
    const early = await bob.complete(upload);
    assert.equal(early.status, 409);
    assert.equal(early.json.code, ErrorCode.UploadIncomplete);

    const fake = Buffer.alloc(png.length, 7);
    for (let i = 0; i < chunks; i++) assert.equal((await bob.put(upload, fake, chunkSize, i)).status, 204);
    const lied = await bob.complete(upload);
    assert.equal(lied.status, 400, 'bytes other than the digest’s are refused');
    assert.equal(lied.json.code, ErrorCode.Invalid);

    for (const path of [`/media/${alices.id}`, `/media/${alices.id}/thumb`, `/media/${upload}`]) {
      assert.equal((await bob.req('GET', path)).status, 404, path);
    }
    const conv = await bobsConv();
    for (const media of [alices.id, upload]) {
      const r = await link.bob!.request(Op.SEND, { cmid: `steal-${media}`, conv, kind: MsgKind.Image, media });
      assert.equal(r.op, Op.ERROR);
      assert.equal(r.body.code, ErrorCode.NotFound, media);
    }
  });

  test('the uploader gets the dedupe answer for their own file; another user who uploads it shares the stored bytes', async () => {
    const png = await noisePng(140, 100);
    const alices = await api.alice!.uploadMedia(png);
    const mine = await api.alice!.open(png);
    assert.equal(mine.status, 200, 'alice already proved she has it');
    assert.notEqual((mine.json.media as Media).id, alices.id);

    const bobs = await api.bob!.upload(png);
    assert.equal(bobs.status, 200, JSON.stringify(bobs.json));
    const media = bobs.json.media as Media;
    assert.notEqual(media.id, alices.id);
    const a = await api.alice!.req('GET', `/media/${alices.id}`);
    const b = await api.bob!.req('GET', `/media/${media.id}`);
    assert.ok(a.bytes.equals(b.bytes));
    assert.equal(b.headers.get('etag'), a.headers.get('etag'), 'one stored file for both records');
    assert.equal((await api.bob!.req('GET', `/media/${alices.id}`)).status, 404, "bob's record does not open alice's");
    const again = await api.bob!.open(png);
    assert.equal(again.status, 200, 'now bob has it too');
  });
});
