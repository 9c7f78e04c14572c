// `npm run bench [-- --only server,catchup] [--quick] [--report]`: measures Synkey against baselines
// measured in the same run and writes bench/results.json (raw numbers, stable keys) and BENCHMARKS.md.
// With --only, the other sections keep their figures from the last results.json. --quick runs every
// section smaller, to try the harness (the report says so). --report only rewrites BENCHMARKS.md
// from results.json.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Results, renderReport } from './report';
import { SECTIONS, type SectionName } from './sections';

const root = join(import.meta.dirname, '..');
const resultsFile = join(root, 'bench/results.json');

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
    report: { type: 'boolean', default: false },
  },
});
const names = Object.keys(SECTIONS) as SectionName[];
const chosen = values.only ? (values.only.split(',').map((s) => s.trim()) as SectionName[]) : names;
const unknown = chosen.filter((n) => !names.includes(n));
if (unknown.length) {
  console.error(`unknown section(s): ${unknown.join(', ')}; sections are ${names.join(', ')}`);
  process.exit(2);
}

/** Writes BENCHMARKS.md, with its tables aligned the way `npm run lint` wants them. */
function writeReport(md: string): void {
  const file = join(root, 'BENCHMARKS.md');
  writeFileSync(file, md);
  execFileSync('npx', ['biome', 'format', '--write', file], { cwd: root, stdio: 'ignore' });
}

const previous: Partial<Results> = existsSync(resultsFile) ? JSON.parse(readFileSync(resultsFile, 'utf8')) : {};
if (values.report) {
  writeReport(renderReport(previous));
  console.log('BENCHMARKS.md rewritten from bench/results.json');
  process.exit(0);
}
const results: Partial<Results> = { ...previous };
results.machine = {
  cpus: cpus().length,
  cpu: cpus()[0]?.model ?? 'unknown',
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  os: `${process.platform} ${release()}`,
  date: new Date().toISOString(),
};

const started = performance.now();
let failed = 0;
for (const name of names.filter((n) => chosen.includes(n))) {
  const section = SECTIONS[name];
  const t = performance.now();
  const load = loadavg()[0] ?? 0;
  console.log(`\n▶ ${section.title}${values.quick ? ' (quick)' : ''} — load average ${load.toFixed(2)}`);
  try {
    const figures = await section.run(values.quick, (s) => console.log(s));
    (results as Record<string, unknown>)[name] = {
      ...(figures as object),
      measured: { date: new Date().toISOString(), loadAverage: load, quick: values.quick },
    };
    console.log(`  done in ${((performance.now() - t) / 1000).toFixed(0)} s`);
  } catch (e) {
    failed++;
    console.error(`  ${name} failed:`, e);
  }
}

writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
// In the project's JSON style, so that `npm run lint` stays clean.
execFileSync('npx', ['biome', 'format', '--write', resultsFile], { cwd: root, stdio: 'ignore' });
const md = renderReport(results);
writeReport(md);
console.log(`\n${md}`);
console.log(
  `bench: ${((performance.now() - started) / 1000).toFixed(0)} s${failed ? `, ${failed} section(s) failed` : ''}`,
);
process.exit(failed ? 1 : 0);
