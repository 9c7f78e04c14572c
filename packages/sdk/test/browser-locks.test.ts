import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeLocks } from './browser-locks';
import { sleep } from './helpers';

/** A callback that holds its lock until `release()` is called, and records that it ran. */
function holder(log: string[], tag: string) {
  let release!: () => void;
  const done = new Promise<string>((resolve) => {
    release = () => resolve(tag);
  });
  return {
    callback: (lock: Lock | null) => {
      log.push(`${tag}:${lock ? lock.name : 'null'}`);
      return done;
    },
    release: () => release(),
  };
}

describe('FakeLocks (Web Locks test double)', () => {
  it('grants an exclusive lock to one holder at a time, in request order, and resolves with the callback result', async () => {
    const locks = new FakeLocks();
    const log: string[] = [];
    const a = holder(log, 'a');
    const b = holder(log, 'b');
    const c = holder(log, 'c');
    const pa = locks.request('L', a.callback);
    const pb = locks.request('L', {}, b.callback);
    const pc = locks.request('L', c.callback);
    await sleep(5);
    assert.deepEqual(log, ['a:L']);
    assert.equal(locks.waiting('L'), 2);
    a.release();
    assert.equal(await pa, 'a');
    await sleep(5);
    assert.deepEqual(log, ['a:L', 'b:L']);
    b.release();
    c.release();
    assert.deepEqual(await Promise.all([pb, pc]), ['b', 'c']);
    assert.deepEqual(log, ['a:L', 'b:L', 'c:L']);
    assert.deepEqual(locks.heldNames(), []);
  });

  it('locks of different names do not wait for each other', async () => {
    const locks = new FakeLocks();
    const log: string[] = [];
    const a = holder(log, 'a');
    const b = holder(log, 'b');
    locks.request('A', a.callback);
    locks.request('B', b.callback);
    await sleep(5);
    assert.deepEqual(log.sort(), ['a:A', 'b:B']);
    a.release();
    b.release();
  });

  it('ifAvailable calls back with null while the lock is held (or others queue for it) and with the lock when free', async () => {
    const locks = new FakeLocks();
    const log: string[] = [];
    const a = holder(log, 'a');
    locks.request('L', a.callback);
    await sleep(5);
    assert.equal(await locks.request('L', { ifAvailable: true }, (lock) => (lock ? 'got' : 'busy')), 'busy');
    a.release();
    await sleep(5);
    assert.equal(await locks.request('L', { ifAvailable: true }, (lock) => (lock ? 'got' : 'busy')), 'got');
  });

  it('an aborted signal takes a queued request out of the queue and rejects it; the next one is granted', async () => {
    const locks = new FakeLocks();
    const log: string[] = [];
    const a = holder(log, 'a');
    const b = holder(log, 'b');
    const c = holder(log, 'c');
    locks.request('L', a.callback);
    const abort = new AbortController();
    const pb = locks.request('L', { signal: abort.signal }, b.callback);
    const pc = locks.request('L', c.callback);
    await sleep(5);
    abort.abort();
    await assert.rejects(pb, (e: Error) => e.name === 'AbortError');
    a.release();
    c.release();
    assert.equal(await pc, 'c');
    assert.deepEqual(log, ['a:L', 'c:L']);
    await assert.rejects(
      locks.request('L', { signal: abort.signal }, () => 'never'),
      (e: Error) => e.name === 'AbortError',
    );
  });

  it('a callback that throws releases the lock and rejects its request', async () => {
    const locks = new FakeLocks();
    await assert.rejects(
      locks.request('L', () => {
        throw new Error('cb failed');
      }),
      /cb failed/,
    );
    assert.equal(await locks.request('L', { ifAvailable: true }, (lock) => lock !== null), true);
  });
});
