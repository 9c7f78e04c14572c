import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import { ErrorCode, ProtocolError } from '@synkey/protocol';
import type { ClientEvent, EngineCalls, SessionInfo } from '../src/browser/api';
import { BusClient, BusServer } from '../src/browser/tab-bus';
import { ChannelSpace, observed } from './browser-channels';
import { sleep, waitFor } from './helpers';

// A fresh namespace per test; every space is closed again at the end, in case a failing test
// went on opening channels after its afterEach ran.
const spaces: ChannelSpace[] = [];
let space = new ChannelSpace();
spaces.push(space);
afterEach(() => {
  space.closeAll();
  space = new ChannelSpace();
  spaces.push(space);
});
after(() => {
  for (const s of spaces) s.closeAll();
});

const info: SessionInfo = { state: 'online', user: 'alice', storage: 'memory', owner: true };

/** Engine calls for an owner: `send` echoes its arguments, others answer simply. */
function ownerCalls(overrides: Partial<EngineCalls> = {}): EngineCalls & { seen: unknown[][] } {
  const seen: unknown[][] = [];
  const base: EngineCalls = {
    send: async (conv, content, cmid) => {
      seen.push([conv, content, cmid]);
      return `${cmid ?? 'new'}@${conv}:${content.text}`;
    },
    sendImage: async (conv, file, options, cmid) => {
      seen.push([conv, await file.text(), options, cmid]);
      return `${cmid ?? 'new'}@${conv}:image`;
    },
    sendVoice: async (conv, audio, durationMs, cmid) => {
      seen.push([conv, audio.type, durationMs, cmid]);
      return `${cmid ?? 'new'}@${conv}:voice`;
    },
    mediaFile: async (id) => new Blob([`file ${id}`]),
    retry: async () => undefined,
    remove: async () => undefined,
    markRead: async () => undefined,
    createConversation: async () => {
      throw new Error('not used');
    },
    conversations: async () => [],
    messages: async () => [],
    kick: async () => undefined,
    info: async () => info,
  };
  return Object.assign(base, overrides, { seen });
}

function follower(timeoutMs = 2000, events: ClientEvent[] = []): BusClient {
  return new BusClient(space.open(), (e) => events.push(e), timeoutMs);
}

/** A promise that can be settled from outside. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('tab bus', () => {
  it("a follower's call is answered by the owner with the owner's result", async () => {
    const calls = ownerCalls();
    new BusServer(space.open(), calls);
    const client = follower();
    assert.equal(await client.call('send', [7, { text: 'hi' }, 'cmid-1']), 'cmid-1@7:hi');
    assert.deepEqual(await client.call('info', []), info);
    assert.deepEqual(calls.seen, [[7, { text: 'hi' }, 'cmid-1']]);
    client.close();
  });

  it("a follower's image, voice note and media download cross the channel as Blobs", async () => {
    const calls = ownerCalls();
    new BusServer(space.open(), calls);
    const client = follower();
    const image = new Blob(['png bytes'], { type: 'image/png' });
    assert.equal(await client.call('sendImage', [7, image, { caption: 'look' }, 'c-1']), 'c-1@7:image');
    const voice = new Blob(['opus'], { type: 'audio/webm' });
    assert.equal(await client.call('sendVoice', [7, voice, 1500, 'c-2']), 'c-2@7:voice');
    const file = await client.call('mediaFile', ['m1', 'thumb']);
    assert.equal(await file.text(), 'file m1');
    assert.deepEqual(calls.seen, [
      [7, 'png bytes', { caption: 'look' }, 'c-1'],
      [7, 'audio/webm', 1500, 'c-2'],
    ]);
    client.close();
  });

  it('concurrent calls of two followers each get their own answer', async () => {
    new BusServer(space.open(), ownerCalls());
    const a = follower();
    const b = follower();
    const results = await Promise.all([
      a.call('send', [1, { text: 'a1' }, 'x']),
      b.call('send', [2, { text: 'b1' }, 'y']),
      a.call('send', [3, { text: 'a2' }, 'z']),
    ]);
    assert.deepEqual(results, ['x@1:a1', 'y@2:b1', 'z@3:a2']);
    a.close();
    b.close();
  });

  it('an error thrown by the owner reaches the follower as a ProtocolError with the same code', async () => {
    new BusServer(
      space.open(),
      ownerCalls({
        send: async () => {
          throw new ProtocolError(ErrorCode.Invalid, 'text is empty');
        },
        retry: async () => {
          throw new Error('plain failure');
        },
      }),
    );
    const client = follower();
    await assert.rejects(client.call('send', [1, { text: '' }]), (error: unknown) => {
      assert.ok(error instanceof ProtocolError);
      assert.equal(error.code, ErrorCode.Invalid);
      assert.equal(error.message, 'text is empty');
      return true;
    });
    await assert.rejects(client.call('retry', ['c']), (error: unknown) => {
      assert.ok(error instanceof ProtocolError);
      assert.equal(error.code, ErrorCode.Internal);
      assert.equal(error.message, 'plain failure');
      return true;
    });
    client.close();
  });

  it('an event the owner broadcasts reaches every follower', async () => {
    const server = new BusServer(space.open(), ownerCalls());
    const first: ClientEvent[] = [];
    const second: ClientEvent[] = [];
    const a = follower(2000, first);
    const b = follower(2000, second);
    const event: ClientEvent = { type: 'conversations', convs: [1, 2] };
    server.broadcast(event);
    server.broadcast({ type: 'error', error: { name: 'ProtocolError', code: ErrorCode.Forbidden, message: 'no' } });
    await waitFor(() => first.length === 2 && second.length === 2, 2000, 'both followers got both events');
    assert.deepEqual(first, second);
    assert.deepEqual(first[0], event);
    assert.deepEqual(first[1], {
      type: 'error',
      error: { name: 'ProtocolError', code: ErrorCode.Forbidden, message: 'no' },
    });
    a.close();
    b.close();
  });

  it('a call with no owner rejects with TIMEOUT after timeoutMs', async () => {
    const client = follower(60);
    const started = Date.now();
    await assert.rejects(client.call('conversations', []), (error: unknown) => {
      assert.ok(error instanceof ProtocolError);
      assert.equal(error.code, ErrorCode.Timeout);
      return true;
    });
    assert.ok(Date.now() - started >= 50, 'did not reject before the timeout');
    assert.deepEqual(client.close(), [], 'a timed-out call is no longer waiting');
  });

  it("a call made before any owner exists is answered once an owner appears (its 'owner' announcement makes followers re-send)", async () => {
    const client = follower(5000);
    const answer = client.call('send', [4, { text: 'early' }, 'early-1']);
    answer.catch(() => undefined);
    await sleep(30);
    const calls = ownerCalls();
    new BusServer(space.open(), calls);
    assert.equal(await answer, 'early-1@4:early');
    assert.deepEqual(calls.seen, [[4, { text: 'early' }, 'early-1']], 'the owner ran the call once');
    client.close();
  });

  it('close() returns the calls still waiting, with their method and arguments, and their timers stop', async () => {
    const client = follower(80);
    let settled = false;
    const p1 = client.call('send', [1, { text: 'a' }, 'c1']);
    const p2 = client.call('markRead', [9]);
    for (const p of [p1, p2])
      p.then(
        () => {
          settled = true;
        },
        () => {
          settled = true;
        },
      );
    const left = client.close();
    assert.deepEqual(
      left.map((p) => [p.method, p.args]),
      [
        ['send', [1, { text: 'a' }, 'c1']],
        ['markRead', [9]],
      ],
    );
    // An owner appearing after close() must not answer them through this client either.
    new BusServer(space.open(), ownerCalls());
    await sleep(150);
    assert.equal(settled, false, 'neither a timeout nor a late answer settled a returned call');
    // The caller settles them (here: as a new owner would, by running them).
    left[0]?.resolve('ran locally');
    assert.equal(await p1, 'ran locally');
  });

  it('an owner that closed while running a call does not answer it: the call waits for the next owner, which answers it', async () => {
    const running = deferred<string>();
    let received = 0;
    const oldChannel = observed(space.open(), (data) => {
      if ((data as { t?: string }).t === 'call') received++;
    });
    const old = new BusServer(oldChannel, ownerCalls({ send: () => running.promise }));
    const client = follower(5000);
    const answer = client.call('send', [1, { text: 'handover' }, 'h-1']);
    answer.catch(() => undefined); // a wrong early reply must fail the assertion below, not end the test early
    await waitFor(() => received === 1, 2000, 'the old owner took the call');
    old.close();
    // The closing tab's engine fails the call it was running (e.g. "the client is closed").
    running.reject(new ProtocolError(ErrorCode.Unavailable, 'the client is closed'));
    await sleep(50);
    const calls = ownerCalls();
    new BusServer(space.open(), calls);
    assert.equal(await answer, 'h-1@1:handover');
    assert.deepEqual(calls.seen, [[1, { text: 'handover' }, 'h-1']]);
    client.close();
  });
});
