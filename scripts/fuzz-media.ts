#!/usr/bin/env node
// The long media fuzz run: `npm run fuzz:media -- [--seed N] [--inputs N] [--workers N]`. Fuzzes the
// upload API (PROTOCOL.md §13.1) and VOICE_PART/SEND frames over loopback sockets while two SDK engines
// send images and voice notes (see packages/server/test/fuzz-media-run.ts), prints a summary and exits
// non-zero on any violation. --inputs is the number of random, damaged or hostile inputs (the valid
// steps around them and the checks come on top). The same --seed repeats the same inputs per worker
// (how far each gets varies with timing).
import { randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';
import { formatMediaReport, runMediaFuzz } from '../packages/server/test/fuzz-media-run';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    inputs: { type: 'string', default: '100000' },
    workers: { type: 'string', default: '8' },
  },
});

const seed = values.seed === undefined ? randomInt(2 ** 31) : Number(values.seed);
const inputs = Number(values.inputs);
const workers = Number(values.workers);
for (const [name, n] of Object.entries({ seed, inputs, workers })) {
  if (!Number.isSafeInteger(n) || n < 0) {
    console.error(`--${name} must be a non-negative integer`);
    process.exit(2);
  }
}
console.log(`fuzz:media: seed ${seed} (repeat with --seed ${seed}): ${inputs} mutated inputs from ${workers} workers`);
const report = await runMediaFuzz({
  seed,
  mutated: inputs,
  workers: Math.max(1, workers),
  heapBound: 32 * 2 ** 20,
  wellBehavedDeadlineMs: 30_000,
  progress: (line) => console.log(`  … ${line}`),
});
console.log(formatMediaReport(report));
process.exit(report.violations.length === 0 ? 0 : 1);
