// Server throughput and latency: the real Synkey server (child process, file database) against the
// baseline JSON relay (child process), each loaded by the same generator process with the same
// clients in 1:1 pairs, the same closed-loop run and the same fixed-rate run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Child } from './child';
import type { LatencyResult, LoadKind, ThroughputResult } from './load/generator';

/** Parameters of {@link measureServer}. */
export interface ServerLoadParams {
  clients: number;
  /** Length of the closed-loop run. */
  throughputMs: number;
  /** Sends each client keeps unacknowledged in the closed-loop run. */
  window: number;
  /** Offered load of the fixed-rate run, messages/s. */
  rate: number;
  latencyMs: number;
  warmupMs: number;
}

/** One server's figures. */
export interface ServerLoadResult {
  throughput: ThroughputResult;
  latency: LatencyResult;
  /** Server CPU time (user + system) per delivered message in the closed-loop run, µs. */
  cpuMicrosPerMessage: number;
  /** Share of one core the server and the load generator used in the closed-loop run. */
  serverCores: number;
  loadCores: number;
  connectMs: number;
  firstError: string;
}

const SECRET = 'bench-secret';

/** Starts the server of `kind` in a child process; resolves with it and its WebSocket URL. */
export async function startTarget(kind: LoadKind, dir: string): Promise<{ server: Child; wsUrl: string }> {
  if (kind === 'relay') {
    const server = await Child.start('relay.ts');
    return { server, wsUrl: server.url };
  }
  const server = await Child.start('synkey-server.ts', ['--db', join(dir, `synkey-${Date.now()}.db`)], {
    env: { SYNKEY_SECRET: SECRET },
  });
  return { server, wsUrl: `${server.url.replace(/^http/, 'ws')}/ws` };
}

async function measureOne(
  kind: LoadKind,
  p: ServerLoadParams,
  dir: string,
  log: (s: string) => void,
): Promise<ServerLoadResult> {
  const { server, wsUrl } = await startTarget(kind, dir);
  const load = await Child.start('load.ts', [], { listens: false });
  try {
    const users = Array.from({ length: p.clients }, (_, i) => `user${i}`);
    let t = performance.now();
    await load.ask('connect', { kind, url: wsUrl, secret: SECRET, users, pairs: true });
    const connectMs = performance.now() - t;
    log(`  ${kind}: ${p.clients} clients connected in ${(connectMs / 1000).toFixed(1)} s; closed loop…`);
    const [cpu0, load0] = [await server.cpu(), await load.cpu()];
    const throughput = await load.ask<ThroughputResult>('throughput', { durationMs: p.throughputMs, window: p.window });
    const [cpu1, load1] = [await server.cpu(), await load.cpu()];
    const cpuMicros = cpu1.user + cpu1.system - cpu0.user - cpu0.system;
    const loadMicros = load1.user + load1.system - load0.user - load0.system;
    log(
      `  ${kind}: ${throughput.deliveredPerSec.toFixed(0)} msg/s delivered (${throughput.delivered}/${throughput.sent}); ${p.rate} msg/s fixed load…`,
    );
    t = performance.now();
    const latency = await load.ask<LatencyResult>('latency', {
      rate: p.rate,
      durationMs: p.latencyMs,
      warmupMs: p.warmupMs,
    });
    log(
      `  ${kind}: ack p50 ${latency.ack.p50.toFixed(2)} ms p99 ${latency.ack.p99.toFixed(2)} ms; delivery p50 ${latency.delivery.p50.toFixed(2)} ms p99 ${latency.delivery.p99.toFixed(2)} ms`,
    );
    return {
      throughput,
      latency,
      cpuMicrosPerMessage: cpuMicros / Math.max(1, throughput.delivered),
      serverCores: cpuMicros / 1000 / throughput.elapsedMs,
      loadCores: loadMicros / 1000 / throughput.elapsedMs,
      connectMs,
      firstError: await load.ask<string>('firstError'),
    };
  } finally {
    await load.stop();
    await server.stop();
  }
}

/** Measures Synkey and the relay baseline under the same load, one after the other. */
export async function measureServer(p: ServerLoadParams, log: (s: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'synkey-bench-'));
  try {
    const synkey = await measureOne('synkey', p, dir, log);
    const relay = await measureOne('relay', p, dir, log);
    return { params: p, synkey, relay };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
