import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, ProtocolError } from '@synkey/protocol';
import { MediaUrls, type MediaVariant } from '../src/browser/media-urls';

/** Object URLs that record what was made and revoked (Node's own URL.createObjectURL works too; this one counts). */
function objectUrls() {
  let n = 0;
  const live = new Map<string, Blob>();
  const revoked: string[] = [];
  return {
    live,
    revoked,
    createObjectURL(blob: Blob) {
      const url = `blob:test/${++n}`;
      live.set(url, blob);
      return url;
    },
    revokeObjectURL(url: string) {
      live.delete(url);
      revoked.push(url);
    },
  };
}

/** A loader that counts its fetches and serves `file <id> <variant>`, or NOT_FOUND for ids starting with `gone`. */
function loader() {
  const calls: string[] = [];
  const load = async (id: string, variant: MediaVariant) => {
    calls.push(`${variant}:${id}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
    if (id.startsWith('gone')) throw new ProtocolError(ErrorCode.NotFound, `media ${id} does not exist`);
    return new Blob([`file ${id} ${variant}`]);
  };
  return { calls, load };
}

describe('MediaUrls', () => {
  it('fetches a file once for concurrent and later asks, and keeps variants apart', async () => {
    const { calls, load } = loader();
    const urls = objectUrls();
    const cache = new MediaUrls(load, 10, urls);
    const [a, b] = await Promise.all([cache.get({ id: 'm1', mime: 'image/png', size: 1 }), cache.get('m1')]);
    assert.equal(a, b);
    assert.equal(await cache.get('m1', 'full'), a);
    const thumb = await cache.get('m1', 'thumb');
    assert.notEqual(thumb, a);
    assert.deepEqual(calls, ['full:m1', 'thumb:m1']);
    assert.equal(await urls.live.get(thumb)?.text(), 'file m1 thumb');
  });

  it('a failed fetch rejects with its code and is not kept: the next ask fetches again', async () => {
    const { calls, load } = loader();
    const cache = new MediaUrls(load, 10, objectUrls());
    for (let i = 0; i < 2; i++) {
      await assert.rejects(cache.get('gone-1'), (e) => e instanceof ProtocolError && e.code === ErrorCode.NotFound);
    }
    assert.deepEqual(calls, ['full:gone-1', 'full:gone-1']);
    await assert.rejects(
      cache.get(undefined as never),
      (e) => e instanceof ProtocolError && e.code === ErrorCode.Invalid,
    );
  });

  it('beyond its cap it drops the least recently used file and revokes its URL', async () => {
    const { calls, load } = loader();
    const urls = objectUrls();
    const cache = new MediaUrls(load, 2, urls);
    const one = await cache.get('m1');
    const two = await cache.get('m2');
    await cache.get('m1');
    const three = await cache.get('m3');
    assert.deepEqual(urls.revoked, [two], 'm2 was used least recently');
    assert.deepEqual([...urls.live.keys()].sort(), [one, three].sort());
    await cache.get('m2');
    assert.deepEqual(calls, ['full:m1', 'full:m2', 'full:m3', 'full:m2']);
  });

  it('a seeded file (my own upload) needs no fetch, and answers for its thumbnail too', async () => {
    const { calls, load } = loader();
    const urls = objectUrls();
    const cache = new MediaUrls(load, 10, urls);
    const mine = new Blob(['my photo']);
    cache.seed('m9', mine);
    assert.equal(urls.live.size, 0, 'no URL is made before one is asked for');
    const thumb = await cache.get('m9', 'thumb');
    assert.equal(await cache.get('m9'), thumb);
    assert.equal(urls.live.get(thumb), mine);
    assert.deepEqual(calls, []);
  });

  it('clear() revokes every URL, and a fetch still running then rejects instead of leaking a URL', async () => {
    const { load } = loader();
    const urls = objectUrls();
    const cache = new MediaUrls(load, 10, urls);
    await cache.get('m1');
    await cache.get('m1', 'thumb');
    const late = cache.get('m2');
    cache.clear();
    assert.equal(urls.live.size, 0);
    assert.equal(urls.revoked.length, 2);
    await assert.rejects(late, (e) => e instanceof ProtocolError && e.code === ErrorCode.Unavailable);
    assert.equal(urls.live.size, 0);
  });
});
