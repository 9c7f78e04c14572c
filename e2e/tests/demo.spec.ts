import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, expect, type Page, test } from '@playwright/test';
import {
  expectConnections,
  history,
  landingChat,
  landingConversation,
  landingRow,
  landingSend,
  openLanding,
  runtimeOf,
} from '../helpers';
import { ServerProcess } from '../server-process';

// The user journeys through the demo site: the landing page (Alice and Bob side by side, each with an
// offline switch), the script-tag page served from another origin, and the SDK-only page.

let server: ServerProcess;
const contexts: BrowserContext[] = [];
const errors: Error[] = [];

test.beforeEach(async () => {
  server = await ServerProcess.start(undefined, ['--site']);
});
test.afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close()));
  await server.dispose();
  expect(errors.splice(0), 'no uncaught errors in the pages').toEqual([]);
});

async function newContext(browser: Browser): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.on('weberror', (e) => errors.push(e.error()));
  contexts.push(context);
  return context;
}

const card = (page: Page, user: string) => page.locator(`.person[data-user="${user}"]`);
const presence = (page: Page, user: string) => card(page, user).locator('.link-state');
const texts = async (user: string, conv: number) => (await history(server.url, user, conv)).map((m) => m.text);

/** Presses a user's offline switch on the landing page and waits until the server has let go of them. */
async function takeOffline(page: Page, user: string, name: string): Promise<void> {
  await card(page, user)
    .getByRole('button', { name: `Take ${name} offline` })
    .click();
  await expect(presence(page, user)).toHaveText(`Offline: the server refuses ${name}'s link`);
  await expectConnections(server.url, user, 0);
}

async function bringBack(page: Page, user: string, name: string): Promise<void> {
  await card(page, user)
    .getByRole('button', { name: `Bring ${name} back online` })
    .click();
  await expect(presence(page, user)).toHaveText('Online', { timeout: 20_000 });
}

test('first visit: Alice sends from the landing page, Bob receives and reads; her message goes sending, sent, delivered, read', async ({
  browser,
}) => {
  const page = await openLanding(await newContext(browser), server.url);
  await expect(card(page, 'alice').getByRole('heading', { name: 'Alice' })).toBeVisible();
  await expect(landingChat(page, 'alice').locator('header.th h2')).toHaveText('bob');
  await expect(landingChat(page, 'bob').locator('header.th h2')).toHaveText('alice');
  // Bob looks at his conversation list, and his link is off: each state of Alice's message holds until the next step.
  await landingChat(page, 'bob').getByRole('button', { name: 'Back to conversations' }).click();
  await takeOffline(page, 'bob', 'Bob');

  await server.freeze();
  await landingSend(page, 'alice', 'Hi Bob! Coffee at 3?');
  const mine = landingRow(page, 'alice', 'Hi Bob! Coffee at 3?');
  await expect(mine).toHaveAttribute('data-state', 'sending');
  await server.thaw();
  await expect(mine).toHaveAttribute('data-state', 'sent');
  await expect(mine.locator('.meta .sr')).toHaveText('Sent');

  await bringBack(page, 'bob', 'Bob');
  const item = landingChat(page, 'bob').locator('synkey-conversation-list .item').filter({ hasText: 'alice' });
  await expect(item).toContainText('Hi Bob! Coffee at 3?');
  await expect(item).toContainText('1 unread');
  await expect(mine).toHaveAttribute('data-state', 'delivered');
  await expect(mine.locator('.caption')).toHaveText('Delivered');

  await item.click();
  await expect(landingRow(page, 'bob', 'Hi Bob! Coffee at 3?')).toHaveClass(/theirs/);
  await expect(mine).toHaveAttribute('data-state', 'read');
  await expect(mine.locator('.caption')).toHaveText('Read');

  await landingSend(page, 'bob', 'Sure, see you there.');
  await expect(landingRow(page, 'alice', 'Sure, see you there.')).toHaveClass(/theirs/);
  await expect(landingRow(page, 'bob', 'Sure, see you there.')).toHaveAttribute('data-state', 'read');
  const conv = await landingConversation(page, 'alice');
  expect(await texts('bob', conv)).toEqual(['Hi Bob! Coffee at 3?', 'Sure, see you there.']);
});

test('offline and back with the landing page switch: messages typed while offline wait, fail, and go out exactly once', async ({
  browser,
}) => {
  const page = await openLanding(await newContext(browser), server.url, '?sendBudgetMs=10000');
  await landingSend(page, 'alice', 'before');
  await expect(landingRow(page, 'alice', 'before')).toHaveAttribute('data-state', 'read');

  await takeOffline(page, 'alice', 'Alice');
  await expect(landingChat(page, 'alice').locator('synkey-banner p')).toContainText('Reconnecting');
  await landingSend(page, 'alice', 'typed while offline');
  const failed = landingRow(page, 'alice', 'typed while offline');
  await expect(failed).toHaveAttribute('data-state', 'sending');
  await expect(failed).toHaveAttribute('data-state', 'failed', { timeout: 30_000 });
  await expect(failed.locator('.caption')).toContainText('Not sent');
  const failedId = await failed.getAttribute('data-cmid');
  await landingSend(page, 'alice', 'queued while offline');
  const queued = landingRow(page, 'alice', 'queued while offline');
  await expect(queued).toHaveAttribute('data-state', 'sending');

  await bringBack(page, 'alice', 'Alice');
  await expect(queued).toHaveAttribute('data-state', 'read');
  await expect(failed).toHaveAttribute('data-state', 'failed');
  await failed.getByRole('button', { name: 'Not sent. Retry' }).click();
  const retried = landingChat(page, 'alice').locator(`synkey-thread .row[data-cmid="${failedId}"]`);
  await expect(retried).toHaveAttribute('data-state', 'read');

  const conv = await landingConversation(page, 'alice');
  const stored = await texts('bob', conv);
  expect(stored).toHaveLength(3);
  expect([...stored].sort()).toEqual(['before', 'queued while offline', 'typed while offline']);
  for (const text of stored) {
    await expect(landingRow(page, 'bob', text as string)).toHaveCount(1);
    await expect(landingRow(page, 'alice', text as string)).toHaveCount(1);
  }
});

test('catch-up: Bob misses messages while offline and gets all of them, in order, when he is back', async ({
  browser,
}) => {
  const page = await openLanding(await newContext(browser), server.url);
  await takeOffline(page, 'bob', 'Bob');
  const sent = Array.from({ length: 5 }, (_, i) => `missed ${i + 1}`);
  for (const text of sent) await landingSend(page, 'alice', text);
  for (const text of sent) await expect(landingRow(page, 'alice', text)).toHaveAttribute('data-state', 'sent');
  await expect(landingChat(page, 'bob').locator('synkey-thread .row')).toHaveCount(0);

  await bringBack(page, 'bob', 'Bob');
  const bobRows = landingChat(page, 'bob').locator('synkey-thread .row .text');
  await expect(bobRows).toHaveText(sent);
  for (const text of sent) await expect(landingRow(page, 'alice', text)).toHaveAttribute('data-state', 'read');
});

test('reload mid-send, then the browser closed with messages queued and opened again: nothing lost, nothing doubled', async ({
  playwright,
  launchOptions,
}) => {
  const profile = mkdtempSync(join(tmpdir(), 'synkey-profile-'));
  // The page comes from another server, so it reloads while the chat server is frozen mid-send.
  const site = await ServerProcess.start();
  const landing = `?server=${encodeURIComponent(server.url)}`;
  const launch = async () => {
    const context = await playwright.chromium.launchPersistentContext(profile, {
      ...launchOptions,
      viewport: { width: 1280, height: 900 },
    });
    context.on('weberror', (e) => errors.push(e.error()));
    return context;
  };
  try {
    let context = await launch();
    let page = await openLanding(context, site.url, landing);
    const conv = await landingConversation(page, 'alice');
    const inFlight = Array.from({ length: 5 }, (_, i) => `in flight ${i + 1}`);
    await server.freeze();
    for (const text of inFlight) await landingSend(page, 'alice', text);
    await page.reload();
    await server.thaw();
    await expect.poll(() => texts('bob', conv), { timeout: 30_000 }).toEqual(inFlight);

    await expect(presence(page, 'alice')).toHaveText('Online', { timeout: 20_000 });
    await takeOffline(page, 'alice', 'Alice');
    const queued = ['queued 1', 'queued 2'];
    for (const text of queued) await landingSend(page, 'alice', text);
    await expect(landingRow(page, 'alice', 'queued 2')).toHaveAttribute('data-state', 'sending');
    await context.close();

    context = await launch();
    page = await context.newPage();
    await page.goto(`${site.url}/${landing}`);
    // Still offline: the widget opens the conversation with Bob it knows from its store, without the server.
    for (const text of queued) await expect(landingRow(page, 'alice', text)).toHaveAttribute('data-state', 'sending');
    await bringBack(page, 'alice', 'Alice');
    const all = [...inFlight, ...queued];
    await expect.poll(() => texts('bob', conv), { timeout: 30_000 }).toEqual(all);
    for (const text of all) {
      await expect(landingRow(page, 'alice', text)).toHaveCount(1);
      await expect(landingRow(page, 'bob', text)).toHaveCount(1);
    }
    await expect(landingRow(page, 'alice', 'queued 2')).toHaveAttribute('data-state', 'read');
    await context.close();
  } finally {
    await site.dispose();
    rmSync(profile, { recursive: true, force: true });
  }
});

test('server restart during a conversation: both sides reconnect, and what they sent meanwhile goes out once', async ({
  browser,
}) => {
  const page = await openLanding(await newContext(browser), server.url, '?sendBudgetMs=60000');
  await landingSend(page, 'alice', 'before the restart');
  await expect(landingRow(page, 'alice', 'before the restart')).toHaveAttribute('data-state', 'read');

  await server.stop();
  await expect(presence(page, 'alice')).toHaveText('Reconnecting…', { timeout: 20_000 });
  await expect(landingChat(page, 'bob').locator('synkey-banner p')).toContainText('Reconnecting');
  await landingSend(page, 'alice', 'while it restarts');
  await landingSend(page, 'bob', 'me too');
  await expect(landingRow(page, 'alice', 'while it restarts')).toHaveAttribute('data-state', 'sending');

  await server.launch();
  await expect(landingRow(page, 'alice', 'while it restarts')).toHaveAttribute('data-state', 'read', {
    timeout: 40_000,
  });
  await expect(landingRow(page, 'bob', 'me too')).toHaveAttribute('data-state', 'read', { timeout: 40_000 });
  await expect(landingRow(page, 'alice', 'me too')).toHaveCount(1);
  await expect(landingRow(page, 'bob', 'while it restarts')).toHaveCount(1);
  const stored = await texts('alice', await landingConversation(page, 'alice'));
  expect(stored[0]).toBe('before the restart');
  expect([...stored].sort()).toEqual(['before the restart', 'me too', 'while it restarts']);
});

test('two tabs of the landing page: one connection per user between them, two engines per page, every tab in step', async ({
  browser,
}) => {
  const context = await newContext(browser);
  const tab1 = await openLanding(context, server.url);
  const tab2 = await openLanding(context, server.url);
  await expectConnections(server.url, 'alice', 1);
  await expectConnections(server.url, 'bob', 1);
  const runtime = await tab1.evaluate(() => {
    const chats = (window as unknown as { synkeyDemo: Record<string, { activeClient: { runtime: string } }> })
      .synkeyDemo;
    return [chats.alice?.activeClient.runtime, chats.bob?.activeClient.runtime];
  });
  expect(runtime).toEqual(['shared-worker', 'shared-worker']);

  await landingSend(tab1, 'alice', 'from the first tab');
  await landingSend(tab2, 'bob', 'from the second tab');
  for (const tab of [tab1, tab2]) {
    for (const user of ['alice', 'bob']) {
      await expect(landingChat(tab, user).locator('synkey-thread .row .text')).toHaveText([
        'from the first tab',
        'from the second tab',
      ]);
    }
    await expect(landingRow(tab, 'alice', 'from the first tab')).toHaveClass(/mine/);
    await expect(landingRow(tab, 'bob', 'from the first tab')).toHaveClass(/theirs/);
  }
  await expect(landingRow(tab2, 'alice', 'from the first tab')).toHaveAttribute('data-state', 'read');
  await expectConnections(server.url, 'alice', 1);
  await expectConnections(server.url, 'bob', 1);
});

/** Opens /embed.html on the demo site as `user` (through the chat server's redirect to the site's origin). */
async function openEmbed(browser: Browser, user: string): Promise<Page> {
  const page = await (await newContext(browser)).newPage();
  const response = await page.goto(`${server.url}/embed.html?user=${user}`);
  expect(new URL(page.url()).origin).toBe(`http://127.0.0.1:${server.sitePort}`);
  expect(response?.headers()['content-security-policy']).toContain(`script-src 'self' ${server.url}`);
  expect(response?.headers()['content-security-policy']).toContain('worker-src blob:');
  return page;
}

async function chatThroughLauncher(alice: Page, bob: Page, text: string): Promise<void> {
  await alice.getByRole('button', { name: 'Open chat' }).click();
  await alice.locator('synkey-chat header.lh').getByRole('button', { name: 'New conversation' }).click();
  await alice.getByPlaceholder('User ID').fill('bob');
  await alice.getByPlaceholder('User ID').press('Enter');
  const composer = alice.getByRole('textbox', { name: 'Message' });
  await composer.fill(text);
  await composer.press('Enter');
  const mine = alice.locator('synkey-thread .row').filter({ hasText: text });
  await expect(mine).toHaveAttribute('data-state', /sent|delivered/);
  await expect(bob.getByRole('button', { name: 'Open chat, 1 unread' })).toBeVisible({ timeout: 20_000 });
  await bob.getByRole('button', { name: /Open chat/ }).click();
  await bob.locator('synkey-conversation-list .item').filter({ hasText: 'alice' }).click();
  await expect(bob.locator('synkey-thread .row').filter({ hasText: text })).toHaveCount(1);
  await expect(mine).toHaveAttribute('data-state', 'read');
}

test('/embed.html from the demo site on another origin, under its CSP: two users chat through the script tag', async ({
  browser,
}) => {
  const alice = await openEmbed(browser, 'alice');
  const bob = await openEmbed(browser, 'bob');
  await expect(alice.locator('aside strong').last()).toHaveText('alice');
  await chatThroughLauncher(alice, bob, 'hello from Northwind');
  expect(await runtimeOf(alice), 'the engine runs in its blob: worker').toBe('worker');
  expect(await texts('bob', 1)).toEqual(['hello from Northwind']);
});

test('/embed.html with the CSP tightened to forbid blob: workers runs the engine in the page and still chats', async ({
  browser,
}) => {
  const site = `http://127.0.0.1:${server.sitePort}`;
  const open = async (user: string) => {
    const context = await newContext(browser);
    await context.route(`${site}/embed.html?user=${user}`, async (route) => {
      const response = await route.fetch();
      const csp = response.headers()['content-security-policy'] ?? '';
      expect(csp).toContain('worker-src blob:');
      const headers = { ...response.headers(), 'content-security-policy': csp.replace('blob:', "'none'") };
      await route.fulfill({ response, headers });
    });
    const page = await context.newPage();
    await page.goto(`${site}/embed.html?user=${user}`);
    return page;
  };
  const alice = await open('alice');
  const bob = await open('bob');
  await chatThroughLauncher(alice, bob, 'no workers on this site');
  expect(await runtimeOf(alice), 'the engine was loaded into the page').toBe('main');
});

test('the SDK-only page: start a conversation, send, the other user reads it, and the states show as text', async ({
  browser,
}) => {
  const open = async (user: string) => {
    const page = await (await newContext(browser)).newPage();
    await page.goto(`${server.url}/sdk.html?user=${user}`);
    await expect(page.locator('#state')).toHaveText('online');
    return page;
  };
  const alice = await open('alice');
  await alice.getByLabel('Chat with').fill('bob');
  await alice.getByRole('button', { name: 'Start' }).click();
  await expect(alice.getByRole('heading', { name: 'bob' })).toBeVisible();
  await alice.getByRole('textbox', { name: 'Message' }).fill('built on createClient()');
  await alice.getByRole('textbox', { name: 'Message' }).press('Enter');
  const mine = alice.locator('#thread li').filter({ hasText: 'built on createClient()' });
  await expect(mine).toHaveAttribute('data-state', 'sent');
  await expect(mine.locator('.state')).toHaveText('✓ Sent');

  const bob = await open('bob');
  const conv = bob.locator('#convs button').filter({ hasText: 'alice' });
  await expect(conv).toContainText('1');
  await conv.click();
  await expect(bob.locator('#thread li.theirs')).toContainText('built on createClient()');
  await expect(mine).toHaveAttribute('data-state', 'read');
  await expect(mine.locator('.state')).toHaveText('✓✓ Read');
  expect(await texts('bob', 1)).toEqual(['built on createClient()']);
});
