// `npm run bench`: measures Synkey against baselines measured in the same run and writes
// bench/results.json (raw numbers, stable keys) and BENCHMARKS.md.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { measureSizes } from './sizes';
import { measureWire } from './wire';

const root = join(import.meta.dirname, '..');

const machine = {
  cpus: cpus().length,
  cpu: cpus()[0]?.model ?? 'unknown',
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  date: new Date().toISOString(),
};

console.log('wire: 1,000 messages by sync vs JSON…');
const wire = await measureWire(1000);
console.log('sizes: building the embed…');
execFileSync('npx', ['vite', 'build', '-c', 'packages/widget/vite.config.ts', '--logLevel', 'warn'], {
  cwd: root,
  stdio: 'inherit',
});
const sizes = measureSizes(join(root, 'packages/widget/dist/synkey.js'));

const results = { machine, wire, sizes };
writeFileSync(join(root, 'bench/results.json'), `${JSON.stringify(results, null, 2)}\n`);

const f = (n: number, d = 1) => n.toFixed(d);
const kb = (n: number) => `${f(n / 1024, 1)} KB`;
const md = `# Benchmarks

Measured by \`npm run bench\` on ${machine.cpus} × ${machine.cpu}, ${machine.memoryGiB} GiB, Node ${machine.node}
(${machine.date.slice(0, 10)}). Each figure stands next to its baseline, measured in the same run. Raw
numbers: [bench/results.json](bench/results.json).

## Wire: bytes per message delivered by sync

${wire.messages} text messages (mixed English, Chinese, Korean, emoji; ${f(wire.textBytesPerMessage)} bytes of
UTF-8 text each on average) synced by a client in pages of 200, counted as WebSocket payload bytes.

| | bytes / message | overhead beyond the text |
| --- | --: | --: |
| Synkey (16-byte frames, msgpack field arrays, ${wire.syncReplies} SYNC replies) | ${f(wire.synkeyBytesPerMessage)} | ${f(wire.synkeyOverheadPerMessage)} |
| Baseline: the same messages as JSON events over a WebSocket | ${f(wire.jsonBytesPerMessage)} | ${f(wire.jsonOverheadPerMessage)} |

## Size of the script-tag embed

| | minified | gzip |
| --- | --: | --: |
| Whole embed \`synkey.js\` (widget + SDK + inlined worker) | ${kb(sizes.whole.raw)} | ${kb(sizes.whole.gzip)} |
| Inlined worker (engine, store, protocol) | ${kb(sizes.worker.raw)} | ${kb(sizes.worker.gzip)} |
| Main-thread part (the rest) | ${kb(sizes.main.raw)} | ${kb(sizes.main.gzip)} |

Budget: 30 KB gzip for the whole embed: ${
  sizes.whole.gzip <= 30 * 1024 ? 'met' : `**over by ${kb(sizes.whole.gzip - 30 * 1024)}**`
}. The engine for pages whose CSP forbids \`blob:\` workers is a separate file
(\`synkey-engine.js\`), loaded only then, so the engine is never shipped twice.
`;
writeFileSync(join(root, 'BENCHMARKS.md'), md);
console.log(md);
