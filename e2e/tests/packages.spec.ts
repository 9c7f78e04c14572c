import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect, test } from '@playwright/test';
import { history } from '../helpers';
import { ServerProcess } from '../server-process';

// The npm packages as an app developer gets them: `npm run pack`'s tarballs installed in a project
// outside the repo (lit from the registry), typechecked, bundled by Vite and chatting in Chromium.

const ROOT = resolve(import.meta.dirname, '../..');

/** Runs a command; resolves its output, or rejects with it. */
function run(cmd: string, args: string[], cwd: string): Promise<string> {
  return new Promise((done, fail) =>
    execFile(cmd, args, { cwd, maxBuffer: 16 << 20 }, (error, stdout, stderr) =>
      error ? fail(new Error(`${cmd} ${args.join(' ')} failed:\n${stdout}${stderr}`)) : done(stdout),
    ),
  );
}

/** The consumer app: it imports the SDK and the widget by their package names only. */
const MAIN_TS = `import { createClient, type SynkeyClient } from '@synkey/sdk';
import type { ClientOptions } from '@synkey/sdk/core';
import { SynkeyChat } from '@synkey/widget';

const params = new URLSearchParams(location.search);
const user = params.get('user') ?? 'ann';
const options: ClientOptions = {
  server: location.origin,
  getToken: async () => {
    const res = await fetch('/dev/token?user=' + encodeURIComponent(user));
    return ((await res.json()) as { token: string }).token;
  },
};
const client: SynkeyClient = createClient(options);
// @ts-expect-error: the types are real, not any (send takes a conversation id)
void (() => client.send('not a conversation id', { text: 'x' }));

if (customElements.get('synkey-chat') !== SynkeyChat) throw new Error('<synkey-chat> is not the package element');
const chat: SynkeyChat = document.createElement('synkey-chat');
chat.client = client;
chat.setAttribute('mode', 'inline');
chat.setAttribute('peer', params.get('peer') ?? 'ben');
chat.addEventListener('synkey-unread', (e) => {
  const unread: number = e.detail;
  document.title = 'Shop (' + unread + ')';
});
document.querySelector('#app')?.append(chat);
(window as unknown as { synkey: SynkeyClient }).synkey = client;
`;

const INDEX_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>
<body><div id="app" style="height: 600px"></div><script type="module" src="/main.ts"></script></body></html>
`;

const tsconfig = (resolution: 'Bundler' | 'NodeNext') => ({
  compilerOptions: {
    target: 'ES2022',
    module: resolution === 'Bundler' ? 'ESNext' : 'NodeNext',
    moduleResolution: resolution,
    lib: ['ES2023', 'DOM', 'DOM.Iterable'],
    types: [],
    strict: true,
    noEmit: true,
    skipLibCheck: false,
  },
  files: ['main.ts'],
});

let app = '';
let server: ServerProcess | undefined;

test.afterAll(async () => {
  await server?.dispose();
  if (app) rmSync(app, { recursive: true, force: true });
});

test('the packed npm packages install outside the repo, typecheck, bundle with Vite and chat through <synkey-chat>', async ({
  browser,
}) => {
  test.setTimeout(300_000);
  await test.step('npm run pack', () => run('npm', ['run', 'pack', '--silent'], ROOT));
  const tarballs = readdirSync(join(ROOT, 'dist/npm')).filter((f) => f.endsWith('.tgz'));
  expect(tarballs.sort()).toEqual(['synkey-protocol-0.1.0.tgz', 'synkey-sdk-0.1.0.tgz', 'synkey-widget-0.1.0.tgz']);

  app = mkdtempSync(join(tmpdir(), 'synkey-consumer-'));
  const dependencies = Object.fromEntries(
    tarballs.map((t) => [`@synkey/${/^synkey-(\w+)-/.exec(t)?.[1]}`, `file:${join(ROOT, 'dist/npm', t)}`]),
  );
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'shop', private: true, type: 'module', dependencies }, null, 2),
  );
  await test.step('npm install the tarballs', () =>
    run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], app));
  expect(existsSync(join(app, 'node_modules/lit/package.json')), 'lit came from the registry').toBe(true);

  writeFileSync(join(app, 'main.ts'), MAIN_TS);
  writeFileSync(join(app, 'index.html'), INDEX_HTML);
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(tsconfig('Bundler')));
  writeFileSync(join(app, 'tsconfig.node.json'), JSON.stringify(tsconfig('NodeNext')));
  const tsc = join(ROOT, 'node_modules/.bin/tsc');
  await test.step('typecheck (bundler resolution)', () => run(tsc, ['-p', 'tsconfig.json'], app));
  await test.step('typecheck (NodeNext resolution)', () => run(tsc, ['-p', 'tsconfig.node.json'], app));

  await test.step('bundle with Vite', () =>
    run(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], app));
  const assets = readdirSync(join(app, 'dist/assets'));
  expect(
    assets.filter((f) => /^worker-.*\.js$/.test(f)),
    'the engine worker became its own file',
  ).toHaveLength(1);

  server = await ServerProcess.start([join(app, 'dist')]);
  const page = await browser.newPage();
  const errors: Error[] = [];
  page.on('pageerror', (e) => errors.push(e));
  await page.goto(`${server.url}/?user=ann&peer=ben`);
  const composer = page.getByRole('textbox', { name: 'Message' });
  await composer.fill('hello from the npm packages');
  await composer.press('Enter');
  const row = page.locator('synkey-thread .row').filter({ hasText: 'hello from the npm packages' });
  await expect(row).toHaveAttribute('data-state', /sent|delivered/, { timeout: 20_000 });
  const runtime = await page.evaluate(() => (window as unknown as { synkey: { runtime: string } }).synkey.runtime);
  expect(runtime, 'the engine runs in the worker the app bundled').toMatch(/worker/);
  const stored = await history(server.url, 'ben', 1);
  expect(stored.map((m) => m.text)).toEqual(['hello from the npm packages']);
  expect(errors).toEqual([]);
  await page.close();
});
