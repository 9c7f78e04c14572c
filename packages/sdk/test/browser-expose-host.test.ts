import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { mintToken } from '@synkey/server';
import type { ClientEvent } from '../src/browser/api';
import type { Session } from '../src/browser/engine-host';
import { workerApi } from '../src/browser/expose-host';
import { releaseProxy } from '../src/browser/rpc';
import { FakeLocks } from './browser-locks';
import { configFor, lendWebSocket, Tabs } from './browser-tabs';
import { sleep, waitFor } from './helpers';
import { cleanup, freshServer, SECRET } from './server-harness';

let giveBack: () => void = () => undefined;
before(() => {
  giveBack = lendWebSocket();
});
after(() => giveBack());

let tabs = new Tabs();
const opened: Session[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
  await tabs.close();
  tabs = new Tabs();
  await cleanup();
});

/** Page callbacks as the RPC hands them to the worker: functions with a releaseProxy method. */
function pageCallbacks(user: string) {
  const released = { getToken: 0, onEvent: 0 };
  const events: ClientEvent[] = [];
  const getToken = Object.assign(async () => mintToken(SECRET, user), {
    [releaseProxy]: () => {
      released.getToken++;
    },
  });
  const onEvent = Object.assign(
    async (event: ClientEvent) => {
      events.push(event);
    },
    {
      [releaseProxy]: () => {
        released.onEvent++;
      },
    },
  );
  return { released, events, getToken, onEvent };
}

/** Lends the worker scope a `navigator.locks`; returns the function that takes it back. */
function lendNavigatorLocks(locks: FakeLocks): () => void {
  const previous = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  Object.defineProperty(globalThis, 'navigator', {
    value: { locks: locks.asLockManager() },
    configurable: true,
    writable: true,
  });
  return () => {
    if (previous) Object.defineProperty(globalThis, 'navigator', previous);
    else delete (globalThis as { navigator?: unknown }).navigator;
  };
}

describe('workerApi (the RPC surface of the engine host)', () => {
  it('ping answers pong', () => {
    assert.equal(workerApi(tabs.host()).ping(), 'pong');
  });

  it('ending the session releases both page callbacks exactly once; closing again is harmless', async () => {
    const server = await freshServer();
    const host = tabs.host();
    const api = workerApi(host);
    const page = pageCallbacks('alice');
    const session = api.open(configFor(server.url, 'alice'), page.getToken, page.onEvent);
    opened.push(session);
    await waitFor(async () => (await session.info()).state === 'online', 5000, 'online');
    assert.ok(
      page.events.some((e) => e.type === 'connection'),
      'events reach the page callback',
    );
    assert.deepEqual(page.released, { getToken: 0, onEvent: 0 });
    await session.close();
    assert.deepEqual(page.released, { getToken: 1, onEvent: 1 });
    assert.equal(host.size, 0);
    await session.close();
    await Promise.all([session.close(), session.close()]);
    assert.deepEqual(page.released, { getToken: 1, onEvent: 1 });
    await waitFor(() => server.connections('alice') === 0, 5000, 'the engine closed');
  });

  it('a session with a fixed token releases its event callback on close', async () => {
    const server = await freshServer();
    const api = workerApi(tabs.host());
    const page = pageCallbacks('alice');
    const token = await mintToken(SECRET, 'alice');
    const session = api.open(configFor(server.url, 'alice', { token }), undefined, page.onEvent);
    opened.push(session);
    await session.close();
    assert.deepEqual(page.released, { getToken: 0, onEvent: 1 });
  });

  it("the session ends (callbacks released once) when the page's tab lock is released, even without close()", async () => {
    const server = await freshServer();
    const locks = new FakeLocks();
    const giveLocksBack = lendNavigatorLocks(locks);
    try {
      const host = tabs.host();
      const api = workerApi(host);
      // The page holds its tab lock for its lifetime.
      let closeTab!: () => void;
      const tabHeld = new Promise<void>((held) => {
        void locks.request('synkey-tab:page-1', () => {
          held();
          return new Promise<void>((resolve) => {
            closeTab = resolve;
          });
        });
      });
      await tabHeld;
      const page = pageCallbacks('alice');
      const session = api.open(configFor(server.url, 'alice'), page.getToken, page.onEvent, 'synkey-tab:page-1');
      opened.push(session);
      await waitFor(async () => (await session.info()).state === 'online', 5000, 'online');
      await sleep(20);
      assert.deepEqual(page.released, { getToken: 0, onEvent: 0 }, 'not ended while the tab lives');
      assert.equal(host.size, 1);

      closeTab();
      await waitFor(() => page.released.onEvent === 1, 5000, 'callbacks released');
      assert.deepEqual(page.released, { getToken: 1, onEvent: 1 });
      assert.equal(host.size, 0);
      await waitFor(() => server.connections('alice') === 0, 5000, 'the engine closed');
      await session.close();
      assert.deepEqual(page.released, { getToken: 1, onEvent: 1 });
      assert.deepEqual(locks.heldNames(), []);
    } finally {
      giveLocksBack();
    }
  });
});
