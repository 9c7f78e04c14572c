import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConvKind, ErrorCode, type Media, MsgKind, Op } from '@synkey/protocol';
import { mintToken, type RunningServer, type ServerOptions, startServer } from '../src/index';
import { MEDIA_DEFAULTS, retentionFromEnv } from '../src/media/options';
import { checkMediaDir } from './fuzz-media-disk';
import { eventually, fakeWebm, MediaApi, noisePng, tempDir } from './media-client';
import { RawClient } from './raw-client';

const SECRET = 'media-housekeeping-retention-secret';

// Media are made by a server with the default retention (7 days); a second server on the same database,
// with a retention of 1 ms, then finds all of them old: no test here depends on how fast anything runs.
const SWEEP_ALL = { media: { unsentRetentionMs: 1, sweepMs: 20 } };

/** A server on `dbPath` and a media client and logged-in link per user; closed when `close` is called. */
async function serve(t: { after(fn: () => Promise<void>): void }, opts: Partial<ServerOptions>) {
  const server = await startServer({ port: 0, secret: SECRET, log: () => {}, ...opts });
  const links: RawClient[] = [];
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    for (const l of links) l.close();
    await server.close();
  };
  t.after(close);
  return {
    server,
    close,
    async user(name: string) {
      const token = await mintToken(SECRET, name);
      const link = (await RawClient.login(server.wsUrl, token, `${name}-phone`)).client;
      links.push(link);
      return { api: new MediaApi(server.url, token), link };
    },
  };
}

type User = Awaited<ReturnType<Awaited<ReturnType<typeof serve>>['user']>>;

/** A voice note of one part stored for `user`'s link. */
async function voiceNote(u: User, upload: string): Promise<Media> {
  const r = await u.link.request(Op.VOICE_PART, { upload, index: 0, data: fakeWebm(300), last: true });
  return r.body.media as Media;
}

async function send(u: User, conv: number, cmid: string, kind: number, media: string) {
  return u.link.request(Op.SEND, { cmid, conv, kind, media });
}

/** Paths of media `id`'s stored file and thumbnail (named by their ETags), as `viewer` sees them. */
async function storedPaths(server: RunningServer, viewer: MediaApi, id: string, thumb = true): Promise<string[]> {
  const names: string[] = [];
  for (const path of thumb ? [`/media/${id}`, `/media/${id}/thumb`] : [`/media/${id}`]) {
    const r = await viewer.req('HEAD', path);
    assert.equal(r.status, 200, path);
    names.push(r.headers.get('etag')!.replaceAll('"', ''));
  }
  return names.map((n) => join(server.mediaDir, 'files', n.slice(0, 2), n));
}

const gone = async (api: MediaApi, id: string) => (await api.req('GET', `/media/${id}`)).status === 404;

describe('unsent media retention', () => {
  test('media never sent are deleted past the retention, files and all; sent ones and the files they use stay', async (t) => {
    const dir = tempDir(t, 'synkey-retention-test-');
    const dbPath = join(dir, 'chat.db');
    const first = await serve(t, { dbPath, rateLimit: { perSecond: 1000, burst: 1000 } });
    const alice = await first.user('alice');
    const bob = await first.user('bob');
    const conv = (
      (await alice.link.request(Op.CONV_CREATE, { kind: ConvKind.Direct, members: ['bob'] })).body.conv as {
        id: number;
      }
    ).id;

    const unsentImage = await alice.api.uploadMedia(await noisePng(80, 60));
    const sentPng = await noisePng(90, 60);
    const sentImage = await alice.api.uploadMedia(sentPng);
    assert.equal((await send(alice, conv, 'img', MsgKind.Image, sentImage.id)).op, Op.SEND_ACK);
    const copy = await alice.api.open(sentPng);
    assert.equal(copy.status, 200, 'a second record of the sent image, itself never sent');
    const copyOfSent = copy.json.media as Media;
    const sharedPng = await noisePng(70, 60);
    const alicesShared = await alice.api.uploadMedia(sharedPng);
    const bobsShared = await bob.api.uploadMedia(sharedPng);
    assert.equal((await send(bob, conv, 'shared', MsgKind.Image, bobsShared.id)).op, Op.SEND_ACK);
    const unsentVoice = await voiceNote(alice, 'note-unsent');
    const sentVoice = await voiceNote(alice, 'note-sent');
    assert.equal((await send(alice, conv, 'voice', MsgKind.Voice, sentVoice.id)).op, Op.SEND_ACK);
    // More than one page (200) of the sweeper, unsent and sent mixed.
    const many: Media[] = [];
    for (let i = 0; i < 230; i++) many.push(await voiceNote(alice, `many-${i}`));
    for (let i = 0; i < 230; i += 23)
      assert.equal((await send(alice, conv, `m${i}`, MsgKind.Voice, many[i]!.id)).op, Op.SEND_ACK);

    const unsentFiles = [
      ...(await storedPaths(first.server, alice.api, unsentImage.id)),
      ...(await storedPaths(first.server, alice.api, unsentVoice.id, false)),
    ];
    const keptFiles = [
      ...(await storedPaths(first.server, alice.api, sentImage.id)),
      ...(await storedPaths(first.server, bob.api, bobsShared.id)),
      ...(await storedPaths(first.server, alice.api, sentVoice.id, false)),
    ];
    assert.deepEqual(await storedPaths(first.server, alice.api, copyOfSent.id), keptFiles.slice(0, 2));
    assert.deepEqual(await storedPaths(first.server, alice.api, alicesShared.id), keptFiles.slice(2, 4));
    const sentBytes = (await alice.api.req('GET', `/media/${sentImage.id}`)).bytes;
    await first.close();

    const second = await serve(t, { dbPath, ...SWEEP_ALL });
    const a = await second.user('alice');
    const b = await second.user('bob');
    for (const m of [unsentImage, copyOfSent, alicesShared, unsentVoice]) await eventually(() => gone(a.api, m.id));
    const store = second.server.store.media;
    await eventually(() => many.every((m, i) => i % 23 === 0 || store.own('alice', m.id) === undefined));
    for (const f of unsentFiles) assert.ok(!existsSync(f), `${f} is deleted`);
    for (const f of keptFiles) assert.ok(existsSync(f), `${f} is kept`);
    for (const viewer of [a.api, b.api]) {
      const got = await viewer.req('GET', `/media/${sentImage.id}`);
      assert.equal(got.status, 200);
      assert.ok(got.bytes.equals(sentBytes));
      for (const m of [sentVoice, bobsShared, ...many.filter((_, i) => i % 23 === 0)]) {
        assert.equal((await viewer.req('GET', `/media/${m.id}`)).status, 200, m.id);
      }
    }
    for (const [m, kind] of [
      [unsentImage, MsgKind.Image],
      [unsentVoice, MsgKind.Voice],
    ] as const) {
      const r = await send(a, conv, `late-${m.id}`, kind, m.id);
      assert.equal(r.op, Op.ERROR);
      assert.equal(r.body.code, ErrorCode.NotFound, 'a deleted media cannot be sent');
    }
    const again = await voiceNote(a, 'note-after-a-sweep');
    await eventually(() => gone(a.api, again.id));
    await second.close();
    assert.deepEqual(checkMediaDir(second.server.mediaDir, dbPath).problems, []);
  });

  test('media younger than the retention are kept', async (t) => {
    const dir = tempDir(t, 'synkey-retention-test-');
    const dbPath = join(dir, 'chat.db');
    const first = await serve(t, { dbPath });
    const media = await (await first.user('alice')).api.uploadMedia(await noisePng(40, 40));
    await first.close();
    const second = await serve(t, { dbPath, media: { unsentRetentionMs: 3600_000, sweepMs: 20 } });
    const alice = await second.user('alice');
    const young = await voiceNote(alice, 'young');
    // Each sweep deletes unsent media first, then leftover chunk folders: once this one is gone, a sweep ran.
    const leftover = join(dir, 'leftover');
    mkdirSync(leftover);
    writeFileSync(join(leftover, '0'), 'x');
    const planted = join(second.server.mediaDir, 'uploads', 'AAAAAAAAAAAAAAAAAAAAAA');
    renameSync(leftover, planted);
    await eventually(() => !existsSync(planted));
    assert.equal((await alice.api.req('GET', `/media/${media.id}`)).status, 200);
    assert.equal((await alice.api.req('GET', `/media/${young.id}`)).status, 200);
  });

  test('files whose rows went before a crash deleted them are deleted at start-up', async (t) => {
    const dir = tempDir(t, 'synkey-retention-test-');
    const dbPath = join(dir, 'chat.db');
    const first = await serve(t, { dbPath });
    const alice = await first.user('alice');
    const media = await alice.api.uploadMedia(await noisePng(50, 50));
    const paths = await storedPaths(first.server, alice.api, media.id);
    const bytes = paths.map((p) => readFileSync(p));
    await first.close();

    const second = await serve(t, { dbPath, ...SWEEP_ALL });
    const a = await second.user('alice');
    await eventually(() => gone(a.api, media.id));
    await second.close();
    // The state a crash after the rows' commit and before the files' unlink leaves.
    for (const [i, p] of paths.entries()) writeFileSync(p, bytes[i]!);

    const third = await serve(t, { dbPath });
    for (const p of paths) assert.ok(!existsSync(p), `${p} is deleted at start-up`);
    await third.close();
    assert.deepEqual(checkMediaDir(third.server.mediaDir, dbPath).problems, []);
  });
});

describe('retention setting', () => {
  test('defaults to 7 days; SYNKEY_MEDIA_RETENTION_HOURS takes positive hours and refuses anything else', () => {
    assert.equal(MEDIA_DEFAULTS.unsentRetentionMs, 7 * 24 * 3600_000);
    assert.equal(retentionFromEnv(undefined), undefined);
    assert.equal(retentionFromEnv(''), undefined);
    assert.equal(retentionFromEnv('168'), 7 * 24 * 3600_000);
    assert.equal(retentionFromEnv('0.5'), 1800_000);
    for (const bad of ['0', '-1', 'abc', 'Infinity', '1e300', '7d']) {
      assert.throws(() => retentionFromEnv(bad), /SYNKEY_MEDIA_RETENTION_HOURS/, bad);
    }
  });
});
