import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ErrorCode, ProtocolError } from '@synkey/protocol';
import { mintToken } from '@synkey/server';
import type { ClientEvent } from '../src/browser/api';
import { type WorkerApi, workerApi } from '../src/browser/expose-host';
import { expose, proxy, type Releasable, type Remote, releaseProxy, transfer, wrap } from '../src/browser/rpc';
import { configFor, tabsPerTest, within } from './browser-tabs';
import { waitFor } from './helpers';
import { freshServer, SECRET } from './server-harness';

const tabs = tabsPerTest();

const ports: MessagePort[] = [];
afterEach(() => {
  for (const p of ports.splice(0)) p.close();
});

/** Serves `target` on one end of a fresh MessageChannel (as a worker or SharedWorker port would) and wraps the other. */
function connect<T extends object>(target: T): Remote<T> {
  const { port1, port2 } = new MessageChannel();
  ports.push(port1, port2);
  expose(target, port1);
  return wrap<T>(port2);
}

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof ProtocolError, `expected a ProtocolError, got ${e}`);
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return true;
  });
}

describe('rpc', () => {
  it('calls a method on the other end and resolves its (structured-cloned) result, Blobs included', async () => {
    const remote = connect({
      add: (a: number, b: number) => a + b,
      echo: async (v: { nested: number[]; file: Blob }) => v,
    });
    assert.equal(await remote.add(2, 3), 5);
    const back = await remote.echo({ nested: [1, 2], file: new Blob(['hello']) });
    assert.deepEqual(back.nested, [1, 2]);
    assert.ok(back.file instanceof Blob);
    assert.equal(await back.file.text(), 'hello');
  });

  it('answers concurrent calls each with its own result, whatever order they finish in', async () => {
    const remote = connect({
      after: (ms: number, v: string) => new Promise<string>((resolve) => setTimeout(() => resolve(v), ms)),
    });
    assert.deepEqual(await Promise.all([remote.after(30, 'slow'), remote.after(0, 'fast'), remote.after(10, 'mid')]), [
      'slow',
      'fast',
      'mid',
    ]);
  });

  it('a thrown ProtocolError rejects the call with its code and message; anything else thrown is INTERNAL', async () => {
    const remote = connect({
      refuse: () => {
        throw new ProtocolError(ErrorCode.Forbidden, 'not a member');
      },
      crash: async () => {
        throw 'oops';
      },
    });
    await rejectsWith(remote.refuse(), ErrorCode.Forbidden, /not a member/);
    await rejectsWith(remote.crash(), ErrorCode.Internal, /oops/);
  });

  it('a method the other end does not have rejects with INVALID', async () => {
    const remote = connect({ a: () => 1 }) as unknown as Remote<{ b(): number }>;
    await rejectsWith(remote.b(), ErrorCode.Invalid, /no method b/);
  });

  it('a proxied callback crosses by reference: the other end calls it and gets its answer', async () => {
    const remote = connect({
      twice: async (fn: Remote<(n: number) => number>) => {
        const sum = (await fn(1)) + (await fn(2));
        fn[releaseProxy]();
        return sum;
      },
    });
    const seen: number[] = [];
    const callback = proxy((n: number) => {
      seen.push(n);
      return n * 10;
    });
    const result = await remote.twice(callback as unknown as Remote<(n: number) => number>);
    assert.equal(result, 30);
    assert.deepEqual(seen, [1, 2]);
  });

  it('a proxied result is a remote object; releasing it rejects later calls and the calls in flight with UNAVAILABLE', async () => {
    let hang: (() => void) | undefined;
    const session = {
      hello: (name: string) => `hi ${name}`,
      wait: () =>
        new Promise<void>((resolve) => {
          hang = resolve;
        }),
    };
    const remote = connect({ open: () => proxy(session) });
    const opened = (await remote.open()) as unknown as Remote<typeof session>;
    assert.equal(await opened.hello('ann'), 'hi ann');
    const waiting = opened.wait();
    await waitFor(() => hang !== undefined, 2000, 'the call arrived');
    opened[releaseProxy]();
    await rejectsWith(waiting, ErrorCode.Unavailable, /released/);
    await rejectsWith(opened.hello('bob'), ErrorCode.Unavailable, /released/);
    opened[releaseProxy](); // twice is harmless
    hang?.();
  });

  it('a released callback is never called again: later calls reject with UNAVAILABLE', async () => {
    const calls: string[] = [];
    let remoteCallback: Remote<(s: string) => void> | undefined;
    const remote = connect({
      keep: (fn: Remote<(s: string) => void>) => {
        remoteCallback = fn;
      },
    });
    await remote.keep(proxy((s: string) => void calls.push(s)) as unknown as Remote<(s: string) => void>);
    const cb = remoteCallback as Remote<(s: string) => void>;
    await cb('one');
    cb[releaseProxy]();
    await rejectsWith(cb('two'), ErrorCode.Unavailable);
    assert.deepEqual(calls, ['one']);
  });

  it('a remote is not thenable, so a promise can resolve to one', async () => {
    const remote = connect({ x: () => 1 });
    const same = await within(Promise.resolve(remote), 1000, 'resolving to a remote');
    assert.equal(same, remote);
    assert.equal((remote as unknown as { then?: unknown }).then, undefined);
  });

  it('transfer() moves an ArrayBuffer instead of copying it', async () => {
    const remote = connect({ size: (b: ArrayBuffer) => b.byteLength });
    const buffer = new ArrayBuffer(8);
    assert.equal(await remote.size(transfer(buffer, [buffer])), 8);
    assert.equal(buffer.byteLength, 0, 'detached on the sending side');
  });

  it('a value that cannot be cloned rejects the call instead of hanging', async () => {
    const remote = connect({ take: (_: unknown) => 1 }) as unknown as Remote<{ take(v: unknown): number }>;
    await assert.rejects(remote.take(() => 1));
    const unclonable = connect({ give: () => () => 1 });
    await rejectsWith(unclonable.give() as Promise<unknown>, ErrorCode.Internal);
  });

  it('carries the engine host between a page and its worker: open, calls, events, getToken, close releases the callbacks', async () => {
    const server = await freshServer();
    const host = tabs().host();
    const remote = connect<WorkerApi>(workerApi(host));
    assert.equal(await remote.ping(), 'pong');
    const events: ClientEvent[] = [];
    let tokens = 0;
    const session = await remote.open(
      configFor(server.url, 'alice'),
      proxy(async () => {
        tokens++;
        return mintToken(SECRET, 'alice');
      }),
      proxy((event: ClientEvent) => void events.push(event)),
    );
    await waitFor(async () => (await session.info()).state === 'online', 5000, 'online');
    assert.ok(tokens >= 1, 'the worker asked the page for a token');
    assert.ok(
      events.some((e) => e.type === 'connection'),
      'events reach the page',
    );
    const conv = await session.createConversation({ kind: 1, members: ['bob'] });
    const cmid = await session.send(conv.id, { text: 'over the port' });
    await waitFor(
      () => events.some((e) => e.type === 'messages' && e.messages.some((m) => m.cmid === cmid && m.state === 'sent')),
      5000,
      'the message is acknowledged',
    );
    await session.close();
    (session as unknown as Releasable)[releaseProxy]();
    assert.equal(host.size, 0);
    await waitFor(() => server.connections('alice') === 0, 5000, 'the engine closed');
  });
});
