#!/usr/bin/env node
// The long chaos soak: `npm run soak -- [--seed N] [--clients N] [--messages N] [--kills N] [--minutes N]`.
// Real SDK engines send through a fault-injecting proxy while the server is killed with SIGKILL and
// restarted (see packages/server/test/soak-run.ts); prints a summary and exits non-zero when a message
// was lost, duplicated or reordered, or anything else went wrong. --minutes spreads the messages and
// kills over that long (decimals allowed); the drain after it has its own deadline. The same --seed
// repeats the same world, schedule and fault decisions per connection (as far as timing allows).
import { randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';
import { formatReport, runSoak, SOAK_FAULTS } from '../packages/server/test/soak-run';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    clients: { type: 'string', default: '300' },
    messages: { type: 'string', default: '12000' },
    kills: { type: 'string', default: '5' },
    minutes: { type: 'string', default: '3' },
  },
});

const seed = values.seed === undefined ? randomInt(2 ** 31) : Number(values.seed);
const clients = Number(values.clients);
const messages = Number(values.messages);
const kills = Number(values.kills);
const minutes = Number(values.minutes);
for (const [name, n] of Object.entries({ seed, clients, messages, kills })) {
  if (!Number.isSafeInteger(n) || n < 0) {
    console.error(`--${name} must be a non-negative integer`);
    process.exit(2);
  }
}
if (clients < 2 || !(minutes > 0)) {
  console.error('--clients must be at least 2 and --minutes more than 0');
  process.exit(2);
}
console.log(
  `soak: seed ${seed} (repeat with --seed ${seed}): ${clients} clients, ${messages} messages and ${kills} server kills over ${minutes} min`,
);
const report = await runSoak({
  seed,
  clients,
  messages,
  kills,
  sendMs: minutes * 60_000,
  httpShare: 0.15,
  autoShare: 0.05,
  plan: SOAK_FAULTS,
  downMs: [0, 3000],
  drainMs: 180_000,
  quietMs: 15_000,
  progress: (line) => console.log(`  … ${line}`),
});
console.log(formatReport(report));
const d = report.delivery;
const clean = report.violations.length === 0 && d !== null && d.lost + d.duplicated + d.reordered === 0;
process.exit(clean ? 0 : 1);
