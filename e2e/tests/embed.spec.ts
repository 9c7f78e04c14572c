import { type Browser, expect, type Page, test } from '@playwright/test';
import { connections, devToken, history, runtimeOf } from '../helpers';
import { ServerProcess } from '../server-process';

let server: ServerProcess;

test.beforeEach(async () => {
  server = await ServerProcess.start();
});
test.afterEach(async () => {
  await server.dispose();
});

/** How often each host page asked the site's token endpoint. */
const tokenFetches = new WeakMap<Page, number>();

/**
 * Opens a "third-party" page for `user`: served from `localhost` while the chat server and its
 * synkey.js are on `127.0.0.1` (another origin), with a CSP as a real site sets. The site's own
 * backend answers /api/chat-token. `embed` writes the page's embed markup (by default the plain script tag).
 */
async function hostPage(
  browser: Browser,
  user: string,
  csp: string,
  embed = (chat: string) =>
    `<script async src="${chat}/synkey.js" data-server="${chat}" data-token-url="/api/chat-token"></script>`,
): Promise<Page> {
  const chat = server.url;
  const site = `http://localhost:${server.port}`;
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.route(`${site}/host`, (route) =>
    route.fulfill({
      contentType: 'text/html',
      headers: { 'content-security-policy': csp },
      body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>A shop</title></head>
<body><h1>A third-party site</h1><p>It embeds the chat with one script tag.</p>
${embed(chat)}
</body></html>`,
    }),
  );
  // The site's token endpoint; once a test has ended and its server is gone, it answers 503 like a site would.
  await page.route(`${site}/api/chat-token`, async (route) => {
    tokenFetches.set(page, (tokenFetches.get(page) ?? 0) + 1);
    const token = await devToken(chat, user).catch(() => undefined);
    await (token ? route.fulfill({ json: { token } }) : route.fulfill({ status: 503 })).catch(() => undefined);
  });
  await page.goto(`${site}/host`);
  return page;
}

const cspFor = (chat: string, workers: string) =>
  [
    "default-src 'self'",
    `script-src 'self' ${chat}`,
    `connect-src 'self' ${chat} ${chat.replace('http', 'ws')}`,
    `worker-src ${workers}`,
    "style-src 'self' 'unsafe-inline'",
  ].join('; ');

async function chatThroughLauncher(alice: Page, bob: Page, text: string): Promise<void> {
  await alice.getByRole('button', { name: /Open chat/ }).click();
  await alice.locator('synkey-chat header.lh').getByRole('button', { name: 'New conversation' }).click();
  await alice.getByPlaceholder('User ID').fill('bob');
  await alice.getByPlaceholder('User ID').press('Enter');
  const composer = alice.getByRole('textbox', { name: 'Message' });
  await composer.fill(text);
  await composer.press('Enter');
  await expect(alice.locator('synkey-thread .row').filter({ hasText: text })).toHaveCount(1);
  await expect(bob.getByRole('button', { name: /Open chat, 1 unread/ })).toBeVisible({ timeout: 20_000 });
  await bob.getByRole('button', { name: /Open chat/ }).click();
  await bob.getByText('alice').first().click();
  await expect(bob.locator('synkey-thread .row').filter({ hasText: text })).toHaveCount(1);
}

test('the script tag on a page of another origin with a CSP: two users chat through the embed', async ({ browser }) => {
  const csp = cspFor(server.url, 'blob:');
  const alice = await hostPage(browser, 'alice', csp);
  const bob = await hostPage(browser, 'bob', csp);
  await chatThroughLauncher(alice, bob, 'hello from the embed');
  expect(await runtimeOf(alice), 'the engine runs in its blob: worker').toBe('worker');
});

test("the site's token endpoint is asked once at start: the token that names the user also opens the engine", async ({
  browser,
}) => {
  const page = await hostPage(browser, 'tina', cspFor(server.url, 'blob:'));
  await expect.poll(() => connections(server.url, 'tina'), { timeout: 20_000 }).toBe(1);
  await expect(page.getByRole('button', { name: 'Open chat' })).toBeVisible();
  expect(tokenFetches.get(page)).toBe(1);
});

test('when the site CSP forbids blob: workers the embed runs its engine in the page and still chats', async ({
  browser,
}) => {
  const csp = cspFor(server.url, "'none'");
  const alice = await hostPage(browser, 'alice', csp);
  const bob = await hostPage(browser, 'bob', csp);
  await chatThroughLauncher(alice, bob, 'no workers allowed here');
  expect(await runtimeOf(alice), 'the engine was loaded into the page').toBe('main');
});

test('data-max-voice sets the longest voice note: a recording stops and sends itself there', async ({ browser }) => {
  const csp = `${cspFor(server.url, 'blob:')}; media-src blob:`;
  const page = await hostPage(
    browser,
    'vera',
    csp,
    (chat) => `<script async src="${chat}/synkey.js" data-server="${chat}" data-token-url="/api/chat-token"
      data-peer="walt" data-max-voice="1"></script>`,
  );
  await expect(page.locator('synkey-chat')).toHaveAttribute('max-voice', '1');
  await page.getByRole('button', { name: /Open chat/ }).click();
  await page.getByRole('button', { name: 'Record a voice message' }).click();
  const timer = page.getByRole('timer', { name: 'Recording' });
  await expect(timer).toBeVisible();
  // Nobody presses send: the 1 s limit stops the recording and sends it (the default would run for 60 s).
  await expect(timer).toHaveCount(0, { timeout: 20_000 });
  const note = page.locator('synkey-thread .row:has(.vn)');
  await expect(note).toHaveAttribute('data-state', /sent|delivered/, { timeout: 20_000 });
  const stored = await history(server.url, 'walt', 1);
  expect(stored.map((m) => m.kind)).toEqual([3]);
  expect(stored[0]?.media?.durationMs).toBeLessThan(10_000);
});

test('Synkey.init({ maxVoice }) from the call queue sets max-voice; a maxVoice that is not a number of seconds is refused', async ({
  browser,
}) => {
  const page = await hostPage(
    browser,
    'vera',
    cspFor(server.url, 'blob:').replace("script-src 'self'", "script-src 'self' 'unsafe-inline'"),
    (chat) => `<div id="chat" style="height: 480px"></div>
<script>
  window.Synkey = { q: [], init() { Synkey.q.push(['init', arguments]); } };
  Synkey.init({ server: '${chat}', tokenUrl: '/api/chat-token', mode: 'inline', target: '#chat', maxVoice: 2 });
</script>
<script async src="${chat}/synkey.js"></script>`,
  );
  const chat = page.locator('#chat synkey-chat');
  await expect(chat).toHaveAttribute('max-voice', '2');
  await expect(chat.getByRole('region', { name: 'Messages' })).toBeVisible();
  const refused = await page.evaluate(
    (server) =>
      ['long', 0, -5, Number.NaN, Number.POSITIVE_INFINITY].map((maxVoice) => {
        try {
          (window as unknown as { Synkey: { init(o: unknown): unknown } }).Synkey.init({
            server,
            token: 't',
            maxVoice,
          });
          return 'accepted';
        } catch (e) {
          return `${(e as Error).name} ${(e as { code?: string }).code}`;
        }
      }),
    server.url,
  );
  expect(refused).toEqual(Array(5).fill('ProtocolError INVALID'));
  await expect(page.locator('synkey-chat')).toHaveCount(1);
});

/** The embed's files a page has fetched from the chat server so far (worker requests included), by name without hash. */
function fetchedFiles(page: Page): () => string[] {
  const seen = new Set<string>();
  page.context().on('request', (request) => {
    const url = new URL(request.url());
    if (url.origin === server.url && url.pathname.endsWith('.js')) {
      seen.add(url.pathname.replace(/^\//, '').replace(/-[\w-]{8}\.js$/, ''));
    }
  });
  return () => [...seen].sort();
}

test('a page loads only the launcher (without Lit) and the engine; Lit and the panel come on hover, and media, short-link and other-language code only when needed', async ({
  browser,
}) => {
  const csp = cspFor(server.url, 'blob:');
  // Requests are watched from a reload on, so the page's first load counts in full.
  const alice = await hostPage(browser, 'alice', csp);
  const seen = fetchedFiles(alice);
  await alice.reload();
  const launcher = alice.getByRole('button', { name: /Open chat/ });
  await expect(launcher).toBeVisible();
  await expect.poll(() => runtimeOf(alice)).toBe('worker');

  const atLoad = seen();
  expect(atLoad).toContain('synkey.js');
  expect(atLoad).toContain('synkey-main.js');
  expect(atLoad).toContain('chunks/synkey-worker');
  for (const later of [
    'chunks/chat-element',
    'chunks/styles',
    'chunks/panel',
    'chunks/kit',
    'chunks/http-transport',
    'chunks/ko',
    'chunks/zh-CN',
    'chunks/memory-store',
  ])
    expect(atLoad, `${later} is not loaded with the page`).not.toContain(later);

  // Lit, the element and the panel come when the visitor reaches for the launcher.
  await launcher.hover();
  await expect.poll(seen).toContain('chunks/panel');
  expect(seen()).toContain('chunks/chat-element');
  const bob = await hostPage(browser, 'bob', csp);
  await chatThroughLauncher(alice, bob, 'text only');
  for (const later of ['chunks/kit', 'chunks/http-transport', 'chunks/ko', 'chunks/zh-CN'])
    expect(seen(), `${later} is not needed for an English text chat`).not.toContain(later);

  // A Korean page fetches the Korean strings (and no others), and the panel opens in Korean.
  const ko = await hostPage(
    browser,
    'carol',
    csp,
    (chat) =>
      `<script async src="${chat}/synkey.js" data-server="${chat}" data-token-url="/api/chat-token" data-lang="ko"></script>`,
  );
  const koSeen = fetchedFiles(ko);
  await ko.reload();
  await ko.getByRole('button', { name: /채팅 열기/ }).click();
  await expect(ko.getByRole('dialog', { name: '메시지' })).toBeVisible();
  expect(koSeen()).toContain('chunks/ko');
  expect(koSeen()).not.toContain('chunks/zh-CN');
});

test('when the panel cannot be loaded the chat says so and "Try again" loads it once the network is back', async ({
  browser,
}) => {
  const csp = cspFor(server.url, 'blob:');
  const page = await hostPage(browser, 'dora', csp);
  await page.route(/\/chunks\/panel-[\w-]+\.js$/, (route) => route.abort('internetdisconnected'));
  await page.getByRole('button', { name: /Open chat/ }).click();
  const alert = page.getByRole('alert');
  await expect(alert).toHaveText(/The chat could not be loaded/);
  const again = page.getByRole('button', { name: 'Try again' });
  await expect(again).toBeFocused();
  // Off the launcher: hovering it also loads again, which would open the panel before the click.
  await page.mouse.move(0, 0);
  await page.unroute(/\/chunks\/panel-[\w-]+\.js$/);
  await again.click();
  await expect(page.locator('synkey-chat header.lh').getByRole('button', { name: 'New conversation' })).toBeVisible();
  await expect(alert).toHaveCount(0);
});

test('keyboard: the launcher drawn before Lit keeps the focus when the chat takes over, and Enter opens the panel', async ({
  browser,
}) => {
  const page = await hostPage(browser, 'kim', cspFor(server.url, 'blob:'));
  const launcher = page.getByRole('button', { name: 'Open chat' });
  await expect(launcher).toBeVisible();
  expect(await page.evaluate(() => customElements.get('synkey-chat') === undefined), 'Lit is not loaded yet').toBe(
    true,
  );
  await page.keyboard.press('Tab');
  await expect(launcher).toBeFocused();
  await page.waitForFunction(() => customElements.get('synkey-chat') !== undefined);
  await expect(launcher).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('dialog', { name: 'Messages' })).toBeVisible();
  await expect(page.locator('synkey-chat header.lh').getByRole('button', { name: 'New conversation' })).toBeVisible();
});
