import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Browser, type BrowserContext, expect, type Page, test } from '@playwright/test';
import { landingRow, landingSend, openLanding, setOffline } from '../helpers';
import { ServerProcess } from '../server-process';

// Writes the README's screenshots into docs/screenshots/. Runs only with SYNKEY_SCREENSHOTS=1
// (`npm run screenshots`), so ordinary test runs leave the tree clean.

const OUT = resolve(import.meta.dirname, '../../docs/screenshots');

let server: ServerProcess;
const contexts: BrowserContext[] = [];

test.beforeAll(() => mkdirSync(OUT, { recursive: true }));
test.beforeEach(async () => {
  server = await ServerProcess.start(undefined, ['--site']);
});
test.afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close()));
  await server.dispose();
});

async function newPage(browser: Browser, width = 1280, height = 800, colorScheme: 'light' | 'dark' = 'light') {
  const context = await browser.newContext({ viewport: { width, height }, colorScheme, deviceScaleFactor: 1 });
  contexts.push(context);
  return context.newPage();
}

/** Takes focus out of the page (through shadow roots) and scrolls to the top, then writes `name`. */
async function shot(page: Page, name: string): Promise<void> {
  await page.evaluate(() => {
    let el = document.activeElement;
    while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
    (el as HTMLElement | null)?.blur();
    window.scrollTo(0, 0);
  });
  await page.screenshot({ path: join(OUT, name), animations: 'disabled', caret: 'hide' });
}
const row = (page: Page, text: string) => page.locator('synkey-thread .row').filter({ hasText: text });

async function send(page: Page, text: string): Promise<void> {
  await page.getByRole('textbox', { name: 'Message' }).fill(text);
  await page.getByRole('textbox', { name: 'Message' }).press('Enter');
  await expect(row(page, text)).toHaveCount(1);
}

test('landing page: Alice and Bob mid-conversation, light and dark', async ({ browser }) => {
  for (const scheme of ['light', 'dark'] as const) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1120 }, colorScheme: scheme });
    contexts.push(context);
    const landing = await openLanding(context, server.url, `?theme=${scheme}`);
    if (scheme === 'light') {
      await landingSend(landing, 'alice', 'Hi Bob! Did the new build go out?');
      await landingSend(landing, 'bob', 'Yes, an hour ago. Every message shows its ticks now.');
      await landingSend(landing, 'alice', 'Nice. Try taking me offline and watch my messages wait.');
      await expect(landingRow(landing, 'alice', 'Try taking me offline')).toHaveAttribute('data-state', 'read');
      await landingSend(landing, 'bob', 'On it!');
      await expect(landingRow(landing, 'bob', 'On it!')).toHaveAttribute('data-state', 'read');
    }
    await shot(landing, `landing-${scheme}.png`);
  }
});

test('embed page: the launcher open on a conversation, on a site of another origin', async ({ browser }) => {
  const bob = await newPage(browser);
  await bob.goto(`${server.url}/embed.html?user=bob`);
  const page = await newPage(browser);
  await page.goto(`${server.url}/embed.html?user=visitor`);
  await page.getByRole('button', { name: 'Open chat' }).click();
  await page.locator('synkey-chat header.lh').getByRole('button', { name: 'New conversation' }).click();
  await page.getByPlaceholder('User ID').fill('bob');
  await page.getByPlaceholder('User ID').press('Enter');
  await send(page, 'Hello! Has my order shipped yet?');
  await bob.getByRole('button', { name: /Open chat/ }).click();
  await bob.locator('synkey-conversation-list .item').filter({ hasText: 'visitor' }).click();
  await send(bob, 'Hi! It left the roastery this morning, it will be with you on Thursday.');
  await expect(row(page, 'It left the roastery')).toHaveCount(1);
  await send(page, 'Perfect, thank you!');
  await expect(row(page, 'Perfect, thank you!')).toHaveAttribute('data-state', 'read');
  await shot(page, 'embed.png');
});

test('SDK page: a conversation on a UI built on createClient() alone', async ({ browser }) => {
  const carol = await newPage(browser, 1280, 720);
  await carol.goto(`${server.url}/sdk.html?user=carol`);
  await carol.getByLabel('Chat with').fill('dan');
  await carol.getByRole('button', { name: 'Start' }).click();
  for (const text of ['Hi Dan! This page uses the SDK alone.', 'No widget: watchMessages() and send().']) {
    await carol.getByRole('textbox', { name: 'Message' }).fill(text);
    await carol.getByRole('textbox', { name: 'Message' }).press('Enter');
  }
  const dan = await newPage(browser, 1280, 720);
  await dan.goto(`${server.url}/sdk.html?user=dan`);
  await dan.locator('#convs button').filter({ hasText: 'carol' }).click();
  await dan.getByRole('textbox', { name: 'Message' }).fill('Nice. And every state is plain text.');
  await dan.getByRole('textbox', { name: 'Message' }).press('Enter');
  await expect(carol.locator('#thread li.theirs')).toHaveCount(1);
  await expect(carol.locator('#thread li.mine[data-state="read"]')).toHaveCount(2);
  await shot(carol, 'sdk.png');
});

test('widget: light and dark, with messages in every state', async ({ browser }) => {
  const alice = await newPage(browser, 1000, 680);
  await alice.goto(`${server.url}/widget?user=alice&peer=bob&sendBudgetMs=6000`);
  await expect(alice.locator('synkey-chat header.th h2')).toHaveText('bob');
  const bobSees = async (open: boolean) => {
    const bob = await newPage(browser);
    await bob.goto(`${server.url}/widget?user=bob`);
    const item = bob.locator('synkey-conversation-list .item').filter({ hasText: 'alice' });
    await expect(item).toHaveCount(1);
    if (open) await item.click();
    return bob;
  };
  await send(alice, 'Morning! Are we still on for the launch review?');
  const bob = await bobSees(true);
  await send(bob, 'Yes, 10:30 in the big room.');
  await expect(row(alice, 'Yes, 10:30')).toHaveCount(1);
  await send(alice, 'Great, I will bring the numbers.');
  await expect(row(alice, 'bring the numbers')).toHaveAttribute('data-state', 'read');
  await bob.context().close();
  await send(alice, 'Sent you the deck as well.');
  const again = await bobSees(false);
  await expect(row(alice, 'Sent you the deck')).toHaveAttribute('data-state', 'delivered');
  await again.context().close();
  await send(alice, 'And the budget sheet.');
  await setOffline(server.url, 'alice', true);
  await send(alice, 'This one could not be sent.');
  await expect(row(alice, 'could not be sent')).toHaveAttribute('data-state', 'failed', { timeout: 30_000 });
  await send(alice, 'This one waits for the link.');
  await expect(row(alice, 'waits for the link')).toHaveAttribute('data-state', 'sending');
  const chat = alice.locator('synkey-chat');
  for (const theme of ['light', 'dark'] as const) {
    await chat.evaluate((el, t) => el.setAttribute('theme', t), theme);
    await shot(alice, `widget-${theme}.png`);
  }
});
