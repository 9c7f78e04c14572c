import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConvKind } from '@synkey/protocol';
import type { Engine } from '../src/engine';
import { MemoryStore } from '../src/memory-store';
import { waitFor } from './helpers';
import { cleanup, engineFor, SECRET, tempDir } from './server-harness';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const children = new Set<ChildProcess>();

after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await cleanup();
});

async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  probe.close();
  await once(probe, 'close');
  return port;
}

/** Runs the server as a child process on `port` with the database at `db`; resolves once it listens. */
async function spawnServer(port: number, db: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'packages/server/src/main.ts', '--port', String(port), '--db', db],
    { cwd: repo, env: { ...process.env, SYNKEY_SECRET: SECRET }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.add(child);
  child.once('exit', () => children.delete(child));
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk;
      if (output.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk;
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited with ${code}:\n${output}`));
    });
  });
  return child;
}

async function kill9(child: ChildProcess): Promise<void> {
  const exited = once(child, 'exit');
  process.kill(child.pid as number, 'SIGKILL');
  await exited;
}

describe('server killed with SIGKILL', () => {
  it('in the middle of a 200-message send stream: after a restart on the same port and DB every acked message is there once, in order, and the outbox drains', async () => {
    const port = await freePort();
    const db = join(tempDir(), 'chat.db');
    const url = `http://127.0.0.1:${port}`;
    let server = await spawnServer(port, db);

    const aliceStore = new MemoryStore();
    const policy = { reconnectPolicy: { minMs: 100, maxMs: 1_000 } };
    // The child runs with the server's default rate limit, so these engines keep their default pace.
    const alice = engineFor(url, 'alice', { ...policy, store: aliceStore, rateLimit: undefined });
    const bob = engineFor(url, 'bob', { ...policy, rateLimit: undefined });
    await waitFor(() => alice.state === 'online' && bob.state === 'online');
    const conv = await alice.createConversation({ kind: ConvKind.Direct, members: ['bob'] });

    const acked = new Set<string>();
    alice.subscribe((e) => {
      if (e.type !== 'messages') return;
      for (const m of e.messages) if (m.cmid && m.id !== undefined) acked.add(m.cmid);
    });
    const texts = Array.from({ length: 200 }, (_, i) => `m${String(i).padStart(3, '0')}`);
    const cmids: string[] = [];
    for (const text of texts) cmids.push(await alice.send(conv.id, { text }));

    await waitFor(() => acked.size >= 40, 30_000, 'some acks before the kill');
    await kill9(server);
    const ackedBeforeKill = new Set(acked);
    assert.ok(ackedBeforeKill.size < texts.length, 'the kill came in the middle of the stream');

    server = await spawnServer(port, db);
    await waitFor(async () => (await aliceStore.outbox()).length === 0, 60_000, "alice's outbox to drain");

    const all = async (e: Engine) => (await e.messages(conv.id, { limit: 200 })).filter((m) => m.id !== undefined);
    await waitFor(async () => (await all(bob)).length === texts.length, 30_000, 'bob to catch up');
    for (const e of [alice, bob]) {
      const got = await all(e);
      assert.deepEqual(
        got.map((m) => m.text),
        texts,
      );
      assert.deepEqual(
        got.map((m) => m.convSeq),
        texts.map((_, i) => i + 1),
      );
      assert.equal(new Set(got.map((m) => m.id)).size, texts.length);
    }
    const stored = new Set((await all(alice)).map((m) => m.cmid));
    for (const cmid of ackedBeforeKill) assert.ok(stored.has(cmid), `acked ${cmid} survived`);
    assert.deepEqual([...stored], cmids);
    await kill9(server);
  });
});
