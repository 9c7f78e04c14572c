// Memory per idle connection: a server process holding `connections` authenticated, idle long links
// (opened by a few generator processes), against the same count on the baseline relay.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Child, type Memory } from './child';
import type { LoadKind } from './load/generator';
import { startTarget } from './server-load';

/** One server's memory before and after the connections, and the difference per connection. */
export interface MemoryResult {
  before: Memory;
  after: Memory;
  rssPerConnection: number;
  heapPerConnection: number;
  connectMs: number;
}

const SECRET = 'bench-secret';

async function measureOne(
  kind: LoadKind,
  connections: number,
  perProcess: number,
  dir: string,
  log: (s: string) => void,
) {
  const { server, wsUrl } = await startTarget(kind, dir);
  const loads: Child[] = [];
  try {
    const before = await server.memory();
    const t = performance.now();
    const parts = Math.ceil(connections / perProcess);
    for (let k = 0; k < parts; k++) loads.push(await Child.start('load.ts', [], { listens: false }));
    await Promise.all(
      loads.map((load, k) => {
        const from = k * perProcess;
        const users = Array.from({ length: Math.min(perProcess, connections - from) }, (_, i) => `idle${from + i}`);
        return load.ask('connect', { kind, url: wsUrl, secret: SECRET, users, pairs: false });
      }),
    );
    const connectMs = performance.now() - t;
    await new Promise((r) => setTimeout(r, 1000));
    const after = await server.memory();
    const result: MemoryResult = {
      before,
      after,
      rssPerConnection: (after.rss - before.rss) / connections,
      heapPerConnection: (after.heapUsed - before.heapUsed) / connections,
      connectMs,
    };
    log(
      `  ${kind}: ${connections} links in ${(connectMs / 1000).toFixed(1)} s; ${(result.rssPerConnection / 1024).toFixed(1)} KiB RSS, ${(result.heapPerConnection / 1024).toFixed(1)} KiB heap per link`,
    );
    return result;
  } finally {
    await Promise.all(loads.map((l) => l.stop()));
    await server.stop();
  }
}

/** Measures memory per idle connection on Synkey and on the relay baseline. */
export async function measureMemory(connections: number, perProcess: number, log: (s: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'synkey-bench-'));
  try {
    const synkey = await measureOne('synkey', connections, perProcess, dir, log);
    const relay = await measureOne('relay', connections, perProcess, dir, log);
    return { connections, synkey, relay };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
