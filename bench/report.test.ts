import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderReport } from './report';

const machine = { cpus: 2, cpu: 'Test CPU', memoryGiB: 8, node: 'v20.0.0', date: '2026-01-02T03:04:05.000Z' };
const sum = (p50: number) => ({ count: 10, p50, p99: p50 * 3, max: p50 * 4, mean: p50 });
const load = (perSec: number) => ({
  throughput: {
    sent: 100,
    acked: 100,
    delivered: 100,
    errors: 0,
    sendMs: 1000,
    elapsedMs: 1000,
    ackedPerSec: perSec,
    deliveredPerSec: perSec,
  },
  latency: {
    offeredPerSec: 50,
    achievedPerSec: 50,
    sent: 50,
    delivered: 50,
    errors: 0,
    ack: sum(0.5),
    delivery: sum(1.5),
  },
  cpuMicrosPerMessage: 100,
  serverCores: 0.5,
  loadCores: 0.25,
  connectMs: 10,
  firstError: '',
});

test('the report describes the machine and puts each server figure in a row beside the baseline', () => {
  const md = renderReport({
    machine,
    server: {
      params: { clients: 10, throughputMs: 1000, window: 1, rate: 50, latencyMs: 1000, warmupMs: 100 },
      synkey: load(1234),
      relay: load(98765),
    },
  });
  assert.match(md, /2 × Test CPU, 8 GiB, Node v20\.0\.0 \(2026-01-02\)/);
  assert.match(md, /\| Synkey \| 1,234 \|/);
  assert.match(md, /\| Baseline: ws JSON relay, no storage \| 98,765 \|/);
  assert.match(md, /\| Synkey \| 0\.50 ms \| 1\.50 ms \| 1\.50 ms \| 4\.50 ms \|/);
});

test('sections never measured are left out of the report', () => {
  const md = renderReport({ machine });
  assert.doesNotMatch(md, /## /);
});
