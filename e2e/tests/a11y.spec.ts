import AxeBuilder from '@axe-core/playwright';
import { type Browser, type BrowserContext, expect, type Page, test } from '@playwright/test';
import { landingRow, landingSend, openLanding, setOffline } from '../helpers';
import { ServerProcess } from '../server-process';

// axe-core scans (WCAG 2.0/2.1 A and AA) of every demo page and of the open widget in both themes,
// with messages in every state: no serious or critical violation may remain.

let server: ServerProcess;
const contexts: BrowserContext[] = [];

test.beforeEach(async () => {
  server = await ServerProcess.start(undefined, ['--site']);
});
test.afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close()));
  await server.dispose();
});

async function newPage(browser: Browser, colorScheme: 'light' | 'dark' = 'light'): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 }, colorScheme });
  contexts.push(context);
  return context.newPage();
}

type AxeNode = Awaited<ReturnType<AxeBuilder['analyze']>>['violations'][number]['nodes'][number];

/** An offending element: its selector, and for contrast failures the colours and the ratio. */
function describeNode(node: AxeNode): string {
  const data = node.any[0]?.data as { fgColor?: string; bgColor?: string; contrastRatio?: number } | undefined;
  const colours = data?.fgColor ? ` [${data.fgColor} on ${data.bgColor}: ${data.contrastRatio}]` : '';
  return `${node.target.join(' ')}${colours}`;
}

/** Runs axe on the page and fails on serious or critical violations, naming each with its elements. */
async function scan(page: Page, what: string): Promise<void> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const blocking = result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map(describeNode).join(', ')}`);
  expect(blocking, `axe violations on ${what}`).toEqual([]);
  expect(result.passes.length, `axe ran its checks on ${what}`).toBeGreaterThan(10);
}

const row = (page: Page, text: string) => page.locator('synkey-thread .row').filter({ hasText: text });

async function openWidget(browser: Browser, user: string, query = ''): Promise<Page> {
  const page = await newPage(browser);
  await page.goto(`${server.url}/widget?user=${user}${query}`);
  await page.waitForFunction(() => (window as unknown as { synkey?: unknown }).synkey !== undefined);
  return page;
}

async function send(page: Page, text: string): Promise<void> {
  await page.getByRole('textbox', { name: 'Message' }).fill(text);
  await page.getByRole('textbox', { name: 'Message' }).press('Enter');
  await expect(row(page, text)).toHaveCount(1);
}

test('the landing page, with Alice and Bob mid-conversation, in light and dark', async ({ browser }) => {
  for (const scheme of ['light', 'dark'] as const) {
    const page = await newPage(browser, scheme);
    await page.goto(`${server.url}/?theme=${scheme}`);
    await expect(page.locator('.person[data-user="bob"] .link-state')).toHaveText('Online', { timeout: 20_000 });
    await expect(page.locator('.person[data-user="alice"] .link-state')).toHaveText('Online');
    await landingSend(page, 'alice', `Hi Bob (${scheme})`);
    await landingSend(page, 'bob', `Hi Alice (${scheme})`);
    await expect(landingRow(page, 'alice', `Hi Bob (${scheme})`)).toHaveAttribute('data-state', 'read');
    await scan(page, `/ (${scheme})`);
  }
});

test('the landing page with a user taken offline and a failed message', async ({ browser }) => {
  const page = await openLanding((await newPage(browser)).context(), server.url, '?sendBudgetMs=3000');
  await page.locator('.person[data-user="alice"]').getByRole('button', { name: 'Take Alice offline' }).click();
  await landingSend(page, 'alice', 'will fail');
  await expect(landingRow(page, 'alice', 'will fail')).toHaveAttribute('data-state', 'failed', { timeout: 20_000 });
  await scan(page, '/ with Alice offline');
});

test('/embed.html on the demo site with the launcher open on a conversation', async ({ browser }) => {
  const page = await newPage(browser);
  await page.goto(`${server.url}/embed.html?user=visitor`);
  await page.getByRole('button', { name: 'Open chat' }).click();
  await page.locator('synkey-chat header.lh').getByRole('button', { name: 'New conversation' }).click();
  await scan(page, '/embed.html, new conversation form');
  await page.getByPlaceholder('User ID').fill('alice');
  await page.getByPlaceholder('User ID').press('Enter');
  await send(page, 'Hello, is my order on its way?');
  await expect(row(page, 'Hello, is my order on its way?')).toHaveAttribute('data-state', /sent|delivered/);
  await scan(page, '/embed.html, launcher open');
});

test('/sdk.html with a conversation and a failed message', async ({ browser }) => {
  const page = await newPage(browser);
  await page.goto(`${server.url}/sdk.html?user=alice&sendBudgetMs=2000`);
  await expect(page.locator('#state')).toHaveText('online');
  await scan(page, '/sdk.html, empty');
  await page.getByLabel('Chat with').fill('bob');
  await page.getByRole('button', { name: 'Start' }).click();
  await page.getByRole('textbox', { name: 'Message' }).fill('sent fine');
  await page.getByRole('textbox', { name: 'Message' }).press('Enter');
  await expect(page.locator('#thread li[data-state="sent"]')).toHaveCount(1);
  await setOffline(server.url, 'alice', true);
  await page.getByRole('textbox', { name: 'Message' }).fill('this one fails');
  await page.getByRole('textbox', { name: 'Message' }).press('Enter');
  await expect(page.locator('#thread li[data-state="failed"]')).toHaveCount(1, { timeout: 20_000 });
  await scan(page, '/sdk.html, conversation');
});

test('the open widget in light and dark: conversation list and thread, with messages in every state', async ({
  browser,
}) => {
  test.setTimeout(120_000);
  const alice = await openWidget(browser, 'alice', '&peer=bob&sendBudgetMs=8000');
  await expect(alice.locator('synkey-chat header.th h2')).toHaveText('bob');
  const bobSees = async (open: boolean) => {
    const bob = await newPage(browser);
    await bob.goto(`${server.url}/sdk.html?user=bob`);
    const conv = bob.locator('#convs button').filter({ hasText: 'alice' });
    await expect(conv).toHaveCount(1);
    if (open) await conv.click();
    return bob;
  };
  await send(alice, 'Read: Bob opened the conversation.');
  let bob = await bobSees(true);
  await expect(row(alice, 'Read: Bob')).toHaveAttribute('data-state', 'read');
  await bob.context().close();
  await send(alice, 'Delivered: his device has it.');
  bob = await bobSees(false);
  await expect(row(alice, 'Delivered: his device')).toHaveAttribute('data-state', 'delivered');
  await bob.context().close();
  await send(alice, 'Sent: the server has it.');
  await expect(row(alice, 'Sent: the server')).toHaveAttribute('data-state', 'sent');
  await setOffline(server.url, 'alice', true);
  await send(alice, 'Failed: not sent in time.');
  await expect(row(alice, 'Failed: not sent')).toHaveAttribute('data-state', 'failed', { timeout: 30_000 });
  await send(alice, 'Sending: waiting for the link.');
  await expect(row(alice, 'Sending: waiting')).toHaveAttribute('data-state', 'sending');

  const chat = alice.locator('synkey-chat');
  await expect(alice.locator('synkey-chat synkey-conversation-list .item')).toHaveCount(1);
  for (const theme of ['light', 'dark'] as const) {
    await chat.evaluate((el, t) => el.setAttribute('theme', t), theme);
    await scan(alice, `the widget (${theme})`);
  }
});
