#!/usr/bin/env node
// The long fuzz run: `npm run fuzz -- [--seed N] [--frames N] [--http N] [--lanes N] [--workers N]`.
// Fuzzes the server's frame handling over loopback sockets (see packages/server/test/fuzz-run.ts),
// prints a summary and exits non-zero on any violation. --frames is the number of mutated frames the
// server must handle over long links, --http over the short link (an input refused as a whole counts
// one). --lanes long links and --workers short-link requests run at the same time. The same --seed
// repeats the same inputs per lane (how far each lane gets varies with timing).
import { randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';
import { formatReport, runFuzz } from '../packages/server/test/fuzz-run';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    frames: { type: 'string', default: '100000' },
    http: { type: 'string', default: '30000' },
    lanes: { type: 'string', default: '8' },
    workers: { type: 'string', default: '8' },
  },
});

const seed = values.seed === undefined ? randomInt(2 ** 31) : Number(values.seed);
const numbers = {
  frames: Number(values.frames),
  http: Number(values.http),
  lanes: Number(values.lanes),
  workers: Number(values.workers),
};
for (const [name, n] of Object.entries({ seed, ...numbers })) {
  if (!Number.isSafeInteger(n) || n < 0) {
    console.error(`--${name} must be a non-negative integer`);
    process.exit(2);
  }
}
console.log(
  `fuzz: seed ${seed} (repeat with --seed ${seed}): ${numbers.frames} mutated frames over long links, ${numbers.http} over the short link`,
);
const report = await runFuzz({
  seed,
  long: numbers.frames,
  short: numbers.http,
  lanes: Math.max(1, numbers.lanes),
  httpWorkers: Math.max(1, numbers.workers),
  preAuthShare: 0.05,
  heapBound: 32 * 2 ** 20,
  progress: (line) => console.log(`  … ${line}`),
});
console.log(formatReport(report));
process.exit(report.violations.length === 0 ? 0 : 1);
