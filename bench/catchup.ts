// Catch-up and reconnect in Chromium, with the real SDK in its real Worker and IndexedDB (the built
// demo page demo/sdk.html, served by the server process). Catch-up: the page was closed while
// `messages` messages arrived; it is opened again and syncs them all. Baseline: the same messages as
// JSON pages over HTTP written with a plain IndexedDB put loop, in the same page. Reconnect: the
// server process is killed and started again; time from its being back to the first new message
// synced in the page.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from '@playwright/test';
import { mintToken } from '@synkey/server';
import playwrightConfig from '../e2e/playwright.config';
import { installProbe, naiveCatchup, type PageRecord } from './browser/page-probes';
import { Child } from './child';
import { fullHistory } from './history';
import { jsonMessage } from './json-baseline';
import { startJsonServer } from './json-server';
import { SynkeyLoadClient } from './load/synkey-client';
import { rawSync } from './raw-sync';
import { median } from './stats';
import { sentence } from './texts';

const ROOT = join(import.meta.dirname, '..');
const SECRET = 'bench-secret';
const MARK = 'reconnect-';

/** Parameters of {@link measureCatchup}. */
export interface CatchupParams {
  messages: number;
  reconnects: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The Chromium the e2e tests use (scripts/find-browser.mjs), or '' for Playwright's own. */
function browserPath(): string {
  return execFileSync(process.execPath, [join(ROOT, 'scripts/find-browser.mjs')], { encoding: 'utf8' }).trim();
}

/** The long links the server holds for `user` (dev mode). */
async function connections(server: string, user: string): Promise<number> {
  const res = await fetch(`${server}/dev/connections?user=${user}`);
  return ((await res.json()) as { connections: number }).connections;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Sends `texts` from `user` into `conv` over one long link, `window` at a time; resolves when all are acked. */
async function sendAll(wsUrl: string, user: string, conv: number, texts: string[], window = 400): Promise<void> {
  let acked = 0;
  let next = 0;
  let failure = '';
  let client: SynkeyLoadClient | undefined;
  const sendNext = () => {
    if (next < texts.length) client?.send(`${user}-${Date.now()}-${next}`, texts[next++] as string);
  };
  client = await SynkeyLoadClient.open(wsUrl, user, await mintToken(SECRET, user), {
    acked: () => {
      acked++;
      sendNext();
    },
    delivered: () => {},
    failed: (reason) => {
      failure ||= reason;
    },
  });
  client.conv = conv;
  for (let i = 0; i < window; i++) sendNext();
  await waitFor(`${texts.length} acks`, async () => acked >= texts.length || failure !== '', 120_000);
  client.close();
  if (failure) throw new Error(`sending failed: ${failure}`);
}

/** Opens the demo page as `user` with the probe installed; waits until its client exists. */
async function openPage(context: BrowserContext, server: string, user: string, sender: string): Promise<Page> {
  const page = await context.newPage();
  // tsx compiles with keepNames: functions sent to the page call its `__name` helper.
  await page.addInitScript('globalThis.__name ??= (f) => f;');
  await page.addInitScript(installProbe, { sender, mark: MARK });
  await page.goto(`${server}/sdk?user=${user}`);
  await page.waitForFunction(() => (window as unknown as { synkey?: unknown }).synkey !== undefined);
  return page;
}

const record = (page: Page) => page.evaluate(() => (window as unknown as { __bench: PageRecord }).__bench);

async function startServer(db: string, demo: string, port = 0): Promise<Child> {
  return Child.start('synkey-server.ts', ['--db', db, '--dev', '--static', demo, '--port', String(port)], {
    env: { SYNKEY_SECRET: SECRET },
  });
}

/** Builds the SDK demo page into `outDir` (not dist/, which other runs may be serving). */
function buildDemo(outDir: string, log: (s: string) => void): void {
  log('  building the SDK demo page…');
  execFileSync(
    'npx',
    ['vite', 'build', '-c', 'bench/vite.sdk-page.config.ts', '--outDir', outDir, '--logLevel', 'warn'],
    { cwd: ROOT, stdio: 'inherit' },
  );
}

/** Measures catch-up (and its baseline) and reconnect; `log` prints progress. */
export async function measureCatchup(p: CatchupParams, log: (s: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'synkey-bench-catchup-'));
  const demo = join(dir, 'demo');
  const db = join(dir, 'synkey.db');
  buildDemo(demo, log);
  let server = await startServer(db, demo);
  const port = Number(new URL(server.url).port);
  const wsUrl = `ws://127.0.0.1:${port}/ws`;
  const path = browserPath();
  const browser = await chromium.launch({
    ...(path ? { executablePath: path } : {}),
    args: playwrightConfig.use?.launchOptions?.args ?? [],
  });
  try {
    const context = await browser.newContext();
    // Bob's first visit: his client, its IndexedDB and the conversation with alice exist.
    let page = await openPage(context, server.url, 'bob', 'alice');
    const conv = await page.evaluate(async () => {
      const w = window as unknown as { synkey: { createConversation(o: unknown): Promise<{ id: number }> } };
      return (await w.synkey.createConversation({ kind: 1, members: ['alice'] })).id;
    });
    await page.close();
    await waitFor('bob offline', async () => (await connections(server.url, 'bob')) === 0);

    log(`  sending ${p.messages} messages to bob while his page is closed…`);
    await sendAll(
      wsUrl,
      'alice',
      conv,
      Array.from({ length: p.messages }, (_, i) => sentence(i)),
    );

    log('  bob comes back: syncing into IndexedDB…');
    page = await openPage(context, server.url, 'bob', 'alice');
    await page
      .waitForFunction((n) => (window as unknown as { __bench: PageRecord }).__bench.count >= n, p.messages, {
        timeout: (p as { timeoutMs?: number }).timeoutMs ?? 300_000,
        polling: 100,
      })
      .catch(async (e) => {
        const r = await record(page);
        throw new Error(`catch-up stopped at ${r.count} messages (states ${JSON.stringify(r.states)}): ${e}`);
      });
    const rec = await record(page);
    const online = rec.states.find(([s]) => s === 'online' || s === 'degraded')?.[1] ?? rec.firstAt;
    const syncMs = rec.lastAt - online;
    const synkey = {
      messages: rec.count,
      fromNavigationMs: rec.lastAt,
      onlineAtMs: online,
      syncMs,
      perSec: (rec.count / syncMs) * 1000,
    };
    if (process.env.BENCH_DEBUG) console.log(JSON.stringify(rec.batches.map(([t, n]) => [Math.round(t), n])));
    log(`  synkey: ${rec.count} messages in ${(syncMs / 1000).toFixed(2)} s (${synkey.perSec.toFixed(0)}/s)`);

    log('  baseline: the same messages as JSON over HTTP into a plain IndexedDB put loop…');
    const msgs = await fullHistory(server.url, await mintToken(SECRET, 'bob'), conv);
    const json = await startJsonServer(msgs.map(jsonMessage));
    let naive: { ms: number; stored: number };
    try {
      naive = await page.evaluate(naiveCatchup, { base: json.url, total: msgs.length });
    } finally {
      await json.close();
    }
    const baseline = { messages: naive.stored, ms: naive.ms, perSec: (naive.stored / naive.ms) * 1000 };
    log(`  baseline: ${naive.stored} messages in ${(naive.ms / 1000).toFixed(2)} s (${baseline.perSec.toFixed(0)}/s)`);
    await page.close();

    const raw = await rawSync(wsUrl, await mintToken(SECRET, 'bob'));
    const rawResult = { events: raw.events, ms: raw.ms, perSec: (raw.events / raw.ms) * 1000 };
    log(`  raw protocol client (no store): ${raw.events} events in ${(raw.ms / 1000).toFixed(2)} s`);

    const trials: number[] = [];
    for (let i = 0; i < p.reconnects; i++) {
      await waitFor('bob offline', async () => (await connections(server.url, 'bob')) === 0);
      page = await openPage(context, server.url, 'bob', 'alice');
      await waitFor('bob online', async () => (await connections(server.url, 'bob')) === 1);
      await sleep(500);
      await server.stop('SIGKILL');
      server = await startServer(db, demo, port);
      const back = Date.now();
      const text = `${MARK}${i}`;
      await sendAll(wsUrl, 'alice', conv, [text], 1);
      await page.waitForFunction(
        (t) => (window as unknown as { __bench: PageRecord }).__bench.marked[t] !== undefined,
        text,
        { timeout: 60_000, polling: 20 },
      );
      const at = (await record(page)).marked[text] as number;
      trials.push(at - back);
      log(`  reconnect ${i + 1}/${p.reconnects}: first message synced ${at - back} ms after the server was back`);
      await page.close();
    }
    return {
      params: p,
      synkey,
      baseline,
      rawSync: rawResult,
      reconnect: { trials, medianMs: median(trials), maxMs: Math.max(...trials) },
    };
  } finally {
    await browser.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
