// Embed load through an emulated link: a third-party page with the script tag, in a cold Chromium
// context, timed from navigation start to the launcher shown and the engine connected, then from a
// click on the launcher to the chat panel shown. The embed is a fresh build served by the real
// server process; the page, its token endpoint and the chat server are all reached through one
// emulated line (bench/link-emulator.ts). Baseline: the same build with a loader that preloads
// nothing (synkey-nopreload.js), in the same run, trials interleaved.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from '@playwright/test';
import { mintToken } from '@synkey/server';
import playwrightConfig from '../e2e/playwright.config';
import { filesAtLoad, readManifest } from '../packages/widget/build/manifest';
import { Child } from './child';
import { createLink, type LinkShape, startLinkEmulator } from './link-emulator';
import { median } from './stats';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const ROOT = join(import.meta.dirname, '..');
const SECRET = 'bench-secret';
/** How long the pointer rests on the launcher before clicking it (hovering starts loading the panel). */
export const HOVER_MS = 200;

/** The two loaders compared: the one `npm run build` ships, and the baseline without its preload list. */
export const LOADERS = { preload: 'synkey.js', noPreload: 'synkey-nopreload.js' } as const;
type LoaderName = keyof typeof LOADERS;

/** A link shape with what the report calls it. */
export interface NamedLink extends LinkShape {
  label: string;
}

/** Parameters of {@link measureEmbedLoad}. */
export interface EmbedLoadParams {
  trials: number;
  links: Record<string, NamedLink>;
}

/** One page load. Times in ms from navigation start, but `panelMs` (from the click on the launcher). */
export interface EmbedTrial {
  /** When the browser started fetching the loader (the host page parsed up to its script tag). */
  scriptMs: number;
  launcherMs: number;
  connectedMs: number;
  /** From the click on the launcher to the panel's "New conversation" button shown. */
  panelMs: number;
  /** From the pointer entering the launcher (which starts loading the panel), {@link HOVER_MS} before the click. */
  panelFromHoverMs: number;
  /** Up to connected, from the chat server: bytes that reached the browser (headers, files, WebSocket). */
  bytesToConnected: number;
  /** HTTP requests that reached the chat server (page and worker, the WebSocket's upgrade too). */
  requestsToConnected: number;
  /** Connections the browser opened to the chat server. */
  connectionsToConnected: number;
}

/** Medians of a loader's trials on one link, and the trials. */
export interface EmbedLoadFigures {
  scriptMs: number;
  launcherMs: number;
  connectedMs: number;
  panelMs: number;
  bytesToConnected: number;
  requestsToConnected: number;
  connectionsToConnected: number;
  trials: EmbedTrial[];
}

/** What the page records (bench/embed-load.ts `recorder`); -1 until it happened. */
interface PageMarks {
  launcher: number;
  connected: number;
  hover: number;
  click: number;
  panel: number;
  states: [string, number][];
}

type MarkedWindow = Window & { __embedLoad: PageMarks };

/**
 * Runs in the host page before anything else: records when `<synkey-chat>`'s launcher is in its
 * shadow root, when its client's state first reaches online (or degraded: up, nothing persisted),
 * the first hover and click, and when the panel's "New conversation" button is laid out.
 */
function recorder(): void {
  const marks: PageMarks = { launcher: -1, connected: -1, hover: -1, click: -1, panel: -1, states: [] };
  (window as unknown as MarkedWindow).__embedLoad = marks;
  const first = (k: 'hover' | 'click') => () => {
    if (marks[k] < 0) marks[k] = performance.now();
  };
  addEventListener('pointerover', first('hover'), true);
  addEventListener('click', first('click'), true);
  type Client = { watchState(cb: (s: string) => void): () => void };
  // Before Lit has loaded, the launcher shell has drawn into the shadow root and handed the element its `client`.
  type Chat = HTMLElement & { activeClient?: Client; client?: Client };
  let watching = false;
  const check = (el: Chat, root: ShadowRoot) => {
    if (marks.launcher < 0 && root.querySelector('button.launcher')) marks.launcher = performance.now();
    const button = root.querySelector('header.lh button[aria-label="New conversation"]');
    if (marks.panel < 0 && button && button.getClientRects().length > 0) marks.panel = performance.now();
    const client = el.activeClient ?? el.client;
    if (client && !watching) {
      watching = true;
      client.watchState((state) => {
        marks.states.push([state, performance.now()]);
        if (marks.connected < 0 && (state === 'online' || state === 'degraded')) marks.connected = performance.now();
      });
    }
  };
  // The shadow root appears when the launcher shell (or the defined element) draws: look each frame until then.
  const find = () => {
    const el = document.querySelector('synkey-chat') as Chat | null;
    const root = el?.shadowRoot;
    if (!el || !root) {
      requestAnimationFrame(find);
      return;
    }
    new MutationObserver(() => check(el, root)).observe(root, { childList: true, subtree: true, attributes: true });
    check(el, root);
  };
  find();
}

/** The Chromium the e2e tests use (scripts/find-browser.mjs), or '' for Playwright's own. */
function browserPath(): string {
  return execFileSync(process.execPath, [join(ROOT, 'scripts/find-browser.mjs')], { encoding: 'utf8' }).trim();
}

/**
 * Builds the embed into `dir` as `npm run build` does (synkey-main.js, chunks/ with the worker's entry,
 * synkey.js with its preload list), and the baseline loader beside it as synkey-nopreload.js (built
 * alone, then copied: it imports the same synkey-main.js from beside itself). Returns the files
 * synkey.js preloads.
 */
function buildEmbed(dir: string, log: (s: string) => void): string[] {
  log('  building the embed and both loaders…');
  const vite = (build: string, outDir: string, env: Record<string, string> = {}) =>
    execFileSync(
      'npx',
      ['vite', 'build', '-c', 'packages/widget/vite.config.ts', '--outDir', outDir, '--logLevel', 'error'],
      { cwd: ROOT, stdio: 'inherit', env: { ...process.env, ...env, SYNKEY_BUILD: build } },
    );
  vite('embed', dir);
  vite('loader', dir);
  const bare = join(dir, 'bare');
  vite('loader', bare, { SYNKEY_NO_PRELOAD: '1' });
  copyFileSync(join(bare, 'synkey.js'), join(dir, LOADERS.noPreload));
  rmSync(bare, { recursive: true, force: true });
  return preloadedBy(dir);
}

/**
 * The files synkey.js in `dir` preloads: those the page and the worker load at once, but
 * synkey-main.js (the list packages/widget/build/preload-list.ts writes). Throws when the built
 * loader does not name one of them, or the baseline names any.
 */
function preloadedBy(dir: string): string[] {
  const { page, worker } = filesAtLoad(readManifest(dir));
  const files = [...new Set([...page, ...worker])].filter((f) => f !== 'synkey-main.js');
  const loader = readFileSync(join(dir, LOADERS.preload), 'utf8');
  const bare = readFileSync(join(dir, LOADERS.noPreload), 'utf8');
  const missing = files.filter((f) => !loader.includes(`"${f}"`));
  if (missing.length) throw new Error(`${LOADERS.preload} does not preload ${missing.join(', ')}`);
  if (files.some((f) => bare.includes(`"${f}"`))) throw new Error(`${LOADERS.noPreload} preloads files`);
  return files;
}

/** The CSP of a careful third-party site that embeds the chat from `chat`. */
function siteCsp(chat: string): string {
  return [
    "default-src 'self'",
    `script-src 'self' ${chat}`,
    `connect-src 'self' ${chat} ${chat.replace(/^http/, 'ws')}`,
    'worker-src blob:',
    "style-src 'self' 'unsafe-inline'",
  ].join('; ');
}

/**
 * The third-party site: `/host?user=U&loader=F` is a page with the script tag of loader F for
 * user U, `/api/chat-token?user=U` its backend's token endpoint. `chat()` names the chat server as
 * the browser reaches it.
 */
async function startSite(chat: () => string): Promise<{ port: number; close(): Promise<void> }> {
  const loaders = new Set<string>(Object.values(LOADERS));
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://site');
    const user = url.searchParams.get('user') ?? '';
    if (!/^[a-z0-9-]{1,40}$/.test(user)) {
      res.writeHead(400).end('bad user');
      return;
    }
    if (url.pathname === '/api/chat-token') {
      const body = JSON.stringify({ token: await mintToken(SECRET, user) });
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(body);
      return;
    }
    const loader = url.searchParams.get('loader') ?? '';
    if (url.pathname !== '/host' || !loaders.has(loader)) {
      res.writeHead(404).end();
      return;
    }
    const c = chat();
    res
      .writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': siteCsp(c),
        'cache-control': 'no-store',
      })
      .end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>A shop</title></head>
<body><h1>A third-party site</h1><p>It embeds the chat with one script tag.</p>
<script async src="${c}/${loader}" data-server="${c}" data-token-url="/api/chat-token?user=${user}"></script>
</body></html>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** What crossed the link to and from the chat server up to some moment. */
export interface Traffic {
  /** Bytes that reached the browser (headers, files, WebSocket frames). */
  bytes: number;
  /** HTTP requests that reached the server (the WebSocket's upgrade included; none answered from the cache). */
  requests: number;
  /** Connections the browser opened. */
  connections: number;
}

const REQUEST_LINE = /^[A-Z]+ \S+ HTTP\/1\.1\r\n/;

/** The chat server's side of the link as a timeline, which each trial starts afresh. */
class TrafficLog {
  private events: [at: number, what: keyof Traffic, n: number][] = [];

  /** Records `n` of `what` now. */
  add(what: keyof Traffic, n = 1): void {
    this.events.push([performance.timeOrigin + performance.now(), what, n]);
  }

  /** Records what the link delivered (browser requests are told apart by their request line). */
  delivered(direction: 'up' | 'down', chunk: Buffer): void {
    if (direction === 'down') this.add('bytes', chunk.length);
    else if (REQUEST_LINE.test(chunk.subarray(0, 200).toString('latin1'))) this.add('requests');
  }

  /** Forgets what was recorded. */
  reset(): void {
    this.events = [];
  }

  /** What crossed up to `epochMs` (wall-clock ms). */
  until(epochMs: number): Traffic {
    const sum: Traffic = { bytes: 0, requests: 0, connections: 0 };
    for (const [at, what, n] of this.events) if (at <= epochMs) sum[what] += n;
    return sum;
  }
}

/** One cold page load of `loader` for `user`; `chat` is the chat server's origin as the browser reaches it. */
async function trial(
  browser: Browser,
  site: string,
  chat: string,
  loader: string,
  user: string,
  traffic: TrafficLog,
): Promise<EmbedTrial> {
  const context = await browser.newContext();
  // BENCH_DEBUG=1 prints each trial's requests (page and worker, the HTTP cache's answers too).
  const seen: [at: number, url: string][] = [];
  if (process.env.BENCH_DEBUG)
    context.on('request', (r) => seen.push([performance.timeOrigin + performance.now(), r.url()]));
  try {
    const page = await context.newPage();
    // tsx compiles with keepNames: functions sent to the page call its `__name` helper.
    await page.addInitScript('globalThis.__name ??= (f) => f;');
    await page.addInitScript(recorder);
    traffic.reset();
    await page.goto(`${site}/host?user=${user}&loader=${loader}`, { waitUntil: 'commit' });
    const marked = (what: keyof PageMarks) =>
      page.waitForFunction((k) => (window as unknown as MarkedWindow).__embedLoad[k] !== -1, what, {
        timeout: 60_000,
        polling: 50,
      });
    await marked('launcher');
    await marked('connected');
    // The pointer comes to rest on the launcher, stays HOVER_MS, and clicks (page.mouse: no waiting on Playwright's checks).
    const box = await page.getByRole('button', { name: /Open chat/ }).boundingBox();
    if (!box) throw new Error('the launcher has no box');
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await sleep(HOVER_MS);
    await page.mouse.down();
    await page.mouse.up();
    await marked('panel');
    const m = await page.evaluate((url) => {
      const marks = (window as unknown as MarkedWindow).__embedLoad;
      const script = performance.getEntriesByName(url)[0]?.startTime ?? Number.NaN;
      // Known once the engine has started: the client says `main` until then.
      const chat = document.querySelector('synkey-chat') as HTMLElement & {
        activeClient?: { runtime: string };
        client?: { runtime: string };
      };
      return { ...marks, script, origin: performance.timeOrigin, runtime: (chat.activeClient ?? chat.client)?.runtime };
    }, `${chat}/${loader}`);
    if (process.env.BENCH_DEBUG)
      console.log(
        [...seen.map(([at, url]) => `${(at - m.origin).toFixed(0)} ms ${url}`), JSON.stringify(m)].join('\n'),
      );
    const sent = traffic.until(m.origin + m.connected);
    if (m.runtime !== 'worker') throw new Error(`the engine ran in '${m.runtime}', not its blob: worker`);
    return {
      scriptMs: m.script,
      launcherMs: m.launcher,
      connectedMs: m.connected,
      panelMs: m.panel - m.click,
      panelFromHoverMs: m.panel - m.hover,
      bytesToConnected: sent.bytes,
      requestsToConnected: sent.requests,
      connectionsToConnected: sent.connections,
    };
  } finally {
    await context.close();
  }
}

/** Medians of `trials`. */
function summarize(trials: EmbedTrial[]): EmbedLoadFigures {
  const med = (k: keyof EmbedTrial) => median(trials.map((t) => t[k]));
  return {
    scriptMs: med('scriptMs'),
    launcherMs: med('launcherMs'),
    connectedMs: med('connectedMs'),
    panelMs: med('panelMs'),
    bytesToConnected: med('bytesToConnected'),
    requestsToConnected: med('requestsToConnected'),
    connectionsToConnected: med('connectionsToConnected'),
    trials,
  };
}

/**
 * Measures both loaders over every link in `p.links`, `p.trials` cold page loads each, the two
 * loaders taking turns (and turns at going first) so that the machine's load weighs on both alike.
 */
export async function measureEmbedLoad(p: EmbedLoadParams, log: (s: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'synkey-bench-embedload-'));
  const files = join(dir, 'embed');
  let server: Child | undefined;
  let browser: Browser | undefined;
  try {
    const preloaded = buildEmbed(files, log);
    server = await Child.start('synkey-server.ts', ['--db', join(dir, 'synkey.db'), '--static', files], {
      env: { SYNKEY_SECRET: SECRET },
    });
    const serverPort = Number(new URL(server.url).port);
    let chat = '';
    const site = await startSite(() => chat);
    const path = browserPath();
    browser = await chromium.launch({
      ...(path ? { executablePath: path } : {}),
      args: playwrightConfig.use?.launchOptions?.args ?? [],
    });
    const links: Record<string, { preload: EmbedLoadFigures; noPreload: EmbedLoadFigures }> = {};
    try {
      let warm = true;
      for (const [name, shape] of Object.entries(p.links)) {
        const link = createLink(shape);
        const traffic = new TrafficLog();
        const chatProxy = await startLinkEmulator(serverPort, link, {
          onDeliver: (direction, chunk) => traffic.delivered(direction, chunk),
          onConnection: () => traffic.add('connections'),
        });
        const siteProxy = await startLinkEmulator(site.port, link);
        chat = `http://127.0.0.1:${chatProxy.port}`;
        // The site on another name than the chat server: another site, as for a real embed.
        const siteUrl = `http://localhost:${siteProxy.port}`;
        const trials: Record<LoaderName, EmbedTrial[]> = { preload: [], noPreload: [] };
        try {
          if (warm) {
            log('  warming up the server and the browser (not counted)…');
            for (const loader of Object.values(LOADERS)) await trial(browser, siteUrl, chat, loader, 'warmup', traffic);
            warm = false;
          }
          for (let i = 0; i < p.trials; i++) {
            const order: LoaderName[] = i % 2 === 0 ? ['preload', 'noPreload'] : ['noPreload', 'preload'];
            for (const which of order) {
              const user = `${name.toLowerCase()}-${which.toLowerCase()}-${i}`;
              // A load that stalls on a busy machine is tried once more with a new user; a second failure ends the section.
              const t = await trial(browser, siteUrl, chat, LOADERS[which], user, traffic).catch((e: unknown) => {
                log(`  ${shape.label}, ${LOADERS[which]} ${i + 1}: failed (${e}), trying once more`);
                return trial(browser as Browser, siteUrl, chat, LOADERS[which], `${user}-again`, traffic);
              });
              trials[which].push(t);
              log(
                `  ${shape.label}, ${LOADERS[which]} ${i + 1}/${p.trials}: launcher ${t.launcherMs.toFixed(0)} ms, connected ${t.connectedMs.toFixed(0)} ms, panel ${t.panelMs.toFixed(0)} ms after the click; to connected ${t.bytesToConnected} bytes, ${t.requestsToConnected} requests, ${t.connectionsToConnected} connections`,
              );
              await sleep(200);
            }
          }
        } finally {
          await chatProxy.close();
          await siteProxy.close();
        }
        links[name] = { preload: summarize(trials.preload), noPreload: summarize(trials.noPreload) };
      }
    } finally {
      await site.close();
    }
    return { params: { ...p, hoverMs: HOVER_MS }, preloaded, links };
  } finally {
    await browser?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
