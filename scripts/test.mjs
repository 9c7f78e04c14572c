#!/usr/bin/env node
// Runs every test of the project: lint, typecheck, the Node suites (node:test via tsx) and the
// browser suite (Playwright, when e2e tests exist), then prints one closing summary line.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const only = process.argv.slice(2);

function findTests(dir, out = []) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findTests(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

function run(cmd, args, { capture = false } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'] });
    let out = '';
    child.stdout?.on('data', (d) => {
      out += d;
      process.stdout.write(d);
    });
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

let passed = 0;
let failed = 0;
const steps = [];

if (only.length === 0) {
  const configs = [];
  for (const dir of ['packages', '.']) {
    for (const pkg of dir === '.'
      ? ['demo', 'e2e', 'bench', 'scripts']
      : readdirSync(join(root, dir)).map((n) => join(dir, n))) {
      const abs = join(root, pkg);
      try {
        for (const f of readdirSync(abs)) if (/^tsconfig.*\.json$/.test(f)) configs.push(join(pkg, f));
      } catch {}
    }
  }
  for (const [name, args] of [
    ['lint', ['biome', 'check', '.']],
    ...configs.map((c) => [`typecheck ${c}`, ['tsc', '-p', c]]),
  ]) {
    const { code } = await run('npx', args);
    steps.push(`${name}: ${code === 0 ? 'ok' : 'FAILED'}`);
    if (code === 0) passed++;
    else failed++;
  }
}

const files = [
  ...findTests(join(root, 'packages')),
  ...findTests(join(root, 'bench')),
  ...findTests(join(root, 'scripts')),
].filter((f) => only.length === 0 || only.some((o) => f.includes(o)));
if (files.length > 0) {
  const { code, out } = await run(
    'node',
    ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=120000', '--test-reporter=spec', ...files],
    { capture: true },
  );
  const pass = Number(/ℹ pass (\d+)/.exec(out)?.[1] ?? 0);
  const fail = Number(/ℹ fail (\d+)/.exec(out)?.[1] ?? 0) + (code !== 0 && !/ℹ fail [1-9]/.test(out) ? 1 : 0);
  passed += pass;
  failed += fail;
  steps.push(`node tests: ${pass} passed, ${fail} failed`);
}

const e2eFiles = readdirSync(join(root, 'e2e', 'tests')).filter(
  (f) => f.endsWith('.spec.ts') && (only.length === 0 || only.some((o) => f.includes(o))),
);
if (e2eFiles.length > 0) {
  const build = await run('npm', ['run', 'build', '--silent']);
  if (build.code !== 0) {
    failed++;
    steps.push('demo build: FAILED');
  } else {
    const { findBrowser } = await import('./find-browser.mjs');
    process.env.SYNKEY_CHROMIUM = await findBrowser();
    const { code, out } = await run(
      'npx',
      ['playwright', 'test', '-c', 'e2e/playwright.config.ts', ...only.filter((o) => o.endsWith('.spec.ts'))],
      { capture: true },
    );
    const pass = Number(/(\d+) passed/.exec(out)?.[1] ?? 0);
    const fail = Number(/(\d+) failed/.exec(out)?.[1] ?? 0) + Number(/(\d+) flaky/.exec(out)?.[1] ?? 0);
    const broken = code !== 0 && fail === 0 ? 1 : 0;
    passed += pass;
    failed += fail + broken;
    steps.push(`browser tests: ${pass} passed, ${fail + broken} failed`);
  }
}

console.log(`\n${steps.join('\n')}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
