import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  expect,
  type Locator,
  type Page,
  test,
} from '@playwright/test';
import { ConvKind, decodeBody, decodeFrames, frame, Op } from '@synkey/protocol';
import { devToken, history } from '../helpers';
import { ServerProcess } from '../server-process';

let server: ServerProcess;
/** The browser contexts a test opened: closed after it, so no page of it keeps running into the next. */
const contexts: BrowserContext[] = [];

test.beforeEach(async () => {
  server = await ServerProcess.start();
});
test.afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close()));
  await server.dispose();
});

async function newContext(browser: Browser, options?: BrowserContextOptions): Promise<BrowserContext> {
  const context = await browser.newContext(options);
  contexts.push(context);
  return context;
}

/** Opens the widget demo page as `user` in a fresh browser context (its own storage and engine). */
async function openWidget(browser: Browser, user: string, query = '', viewport = { width: 1100, height: 720 }) {
  const context = await newContext(browser, { viewport });
  const page = await context.newPage();
  const errors: Error[] = [];
  page.on('pageerror', (e) => errors.push(e));
  await page.goto(`${server.url}/widget?user=${encodeURIComponent(user)}${query}`);
  await page.waitForFunction(() => (window as unknown as { synkey?: unknown }).synkey !== undefined);
  return { page, errors };
}

const composer = (page: Page) => page.getByRole('textbox', { name: 'Message' });
const row = (page: Page, text: string) => page.locator('synkey-thread .row').filter({ hasText: text });
const banner = (page: Page) => page.locator('synkey-banner p');

/** Starts (or opens) the direct conversation with `peer` through the "new conversation" form. */
async function startChat(page: Page, peer: string): Promise<void> {
  await page.locator('synkey-chat header.lh').getByRole('button', { name: 'New conversation' }).click();
  await page.getByPlaceholder('User ID').fill(peer);
  await page.getByPlaceholder('User ID').press('Enter');
  await expect(composer(page)).toBeFocused();
}

async function send(page: Page, text: string): Promise<void> {
  await composer(page).fill(text);
  await composer(page).press('Enter');
  await expect(row(page, text)).toHaveCount(1);
}

/** Presses Tab (or Shift+Tab) until `target` has focus; fails after `max` presses. */
async function tabTo(page: Page, target: Locator, key = 'Tab', max = 20): Promise<number> {
  for (let i = 1; i <= max; i++) {
    await page.keyboard.press(key);
    if (await target.evaluate((el) => el.matches(':focus'))) return i;
  }
  throw new Error(`${key} never reached the target`);
}

test('two users chat through the widget; the sender sees sending, sent, delivered, then read once the recipient opens the conversation', async ({
  browser,
}) => {
  const alice = await openWidget(browser, 'alice');
  await startChat(alice.page, 'bob');
  await server.freeze();
  await composer(alice.page).fill('hello bob');
  await composer(alice.page).press('Enter');
  const mine = row(alice.page, 'hello bob');
  await expect(mine).toHaveAttribute('data-state', 'sending');
  await expect(mine.locator('.tick.wait')).toBeVisible();
  await expect(mine.locator('.meta .sr')).toHaveText('Sending');
  await server.thaw();
  await expect(mine).toHaveAttribute('data-state', 'sent');
  await expect(mine.locator('.meta .sr')).toHaveText('Sent');

  const bob = await openWidget(browser, 'bob');
  const item = bob.page.locator('synkey-conversation-list .item').filter({ hasText: 'alice' });
  await expect(item).toContainText('hello bob');
  await expect(item).toContainText('1 unread');
  await expect(mine).toHaveAttribute('data-state', 'delivered');
  await expect(mine.locator('.meta .sr')).toHaveText('Delivered');
  await expect(mine.locator('.caption')).toHaveText('Delivered');

  await item.click();
  const theirs = row(bob.page, 'hello bob');
  await expect(theirs).toHaveClass(/theirs/);
  await expect(mine).toHaveAttribute('data-state', 'read');
  await expect(mine.locator('.meta .sr')).toHaveText('Read');
  await expect(mine.locator('.tick.read')).toBeVisible();
  await expect(mine.locator('.caption')).toHaveText('Read');

  const html = '<img src=x onerror="document.title=1"><b>not bold</b>';
  await send(bob.page, html);
  await expect(row(alice.page, 'not bold').locator('.text')).toHaveText(html);
  await expect(row(alice.page, 'not bold').locator('img, b')).toHaveCount(0);
  await send(bob.page, 'hi alice');
  await expect(row(alice.page, 'hi alice')).toHaveClass(/theirs/);
  await expect(alice.page.locator('synkey-thread [role="status"]')).toHaveText('New message from bob: hi alice');
  expect((await history(server.url, 'bob', 1)).map((m) => m.text)).toEqual(['hello bob', html, 'hi alice']);
  expect([...alice.errors, ...bob.errors]).toEqual([]);
});

test('keyboard only: Tab reaches the new-conversation form and the composer, Enter sends, and a failed message is retried with Enter', async ({
  browser,
}) => {
  const { page, errors } = await openWidget(browser, 'carol', '&sendBudgetMs=1500');
  const plus = page.locator('synkey-chat header.lh').getByRole('button', { name: 'New conversation' });
  await tabTo(page, plus);
  await page.keyboard.press('Enter');
  await expect(page.getByPlaceholder('User ID')).toBeFocused();
  await page.keyboard.type('dave');
  await page.keyboard.press('Enter');
  await expect(composer(page)).toBeFocused();
  // From the thread's header, Tab moves on to the composer.
  await page.locator('synkey-chat header.th h2').click();
  await tabTo(page, composer(page));
  await page.keyboard.type('typed with the keyboard');
  await page.keyboard.press('Enter');
  await expect(row(page, 'typed with the keyboard')).toHaveAttribute('data-state', /sent|delivered/);
  await expect(composer(page)).toHaveValue('');
  // Shift+Enter is a new line, not a send.
  await page.keyboard.type('line one');
  await page.keyboard.press('Shift+Enter');
  await page.keyboard.type('line two');
  await expect(composer(page)).toHaveValue('line one\nline two');
  // Enter that confirms an IME composition does not send.
  await composer(page).evaluate((el) =>
    el.dispatchEvent(
      new KeyboardEvent('keydown', { key: 'Enter', isComposing: true, bubbles: true, cancelable: true }),
    ),
  );
  await expect(row(page, 'line one')).toHaveCount(0);
  await expect(row(page, 'line one')).toHaveCount(0);
  await page.keyboard.press('Enter');
  await expect(row(page, 'line one')).toHaveAttribute('data-state', /sent|delivered/);

  await server.stop();
  await expect(banner(page)).toBeVisible({ timeout: 20_000 });
  await page.keyboard.type('sent while the server is down');
  await page.keyboard.press('Enter');
  const failed = row(page, 'sent while the server is down');
  await expect(failed).toHaveAttribute('data-state', 'failed', { timeout: 20_000 });
  const retry = failed.getByRole('button', { name: 'Not sent. Retry' });
  await expect(retry).toHaveText('!');
  await expect(failed.locator('.caption')).toContainText('Not sent');
  const cmid = await failed.getAttribute('data-cmid');

  await server.launch();
  await expect(banner(page)).toHaveCount(0, { timeout: 30_000 });
  await tabTo(page, retry, 'Shift+Tab', 6);
  await page.keyboard.press('Enter');
  const again = page.locator(`synkey-thread .row[data-cmid="${cmid}"]`);
  await expect(again).toHaveAttribute('data-state', /sent|delivered/, { timeout: 20_000 });
  const stored = await history(server.url, 'dave', 1);
  expect(stored.map((m) => m.text)).toEqual([
    'typed with the keyboard',
    'line one\nline two',
    'sent while the server is down',
  ]);
  expect(errors).toEqual([]);
});

test('a failed message can be deleted, and while the server is down the banner explains that messages will go out later', async ({
  browser,
}) => {
  const { page } = await openWidget(browser, 'erin', '&sendBudgetMs=1500');
  await startChat(page, 'frank');
  await send(page, 'first');
  await server.stop();
  await expect(banner(page)).toContainText(/Reconnecting|offline/, { timeout: 20_000 });
  await composer(page).fill('will be deleted');
  await composer(page).press('Enter');
  const failed = row(page, 'will be deleted');
  await expect(failed).toHaveAttribute('data-state', 'failed', { timeout: 20_000 });
  await page.screenshot({ path: test.info().outputPath('failed-and-offline.png'), animations: 'disabled' });
  await failed.getByRole('button', { name: 'Delete' }).click();
  await expect(failed).toHaveCount(0);
  await expect(composer(page)).toBeFocused();
  await server.launch();
  await expect(banner(page)).toHaveText('Back online', { timeout: 30_000 });
  await expect(banner(page)).toHaveCount(0);
  expect((await history(server.url, 'frank', 1)).map((m) => m.text)).toEqual(['first']);
});

test('light and dark themes render a polished thread (screenshots saved as test artifacts)', async ({ browser }) => {
  const bob = await openWidget(browser, 'bob');
  const alice = await openWidget(browser, 'alice');
  await startChat(alice.page, 'bob');
  await send(alice.page, 'Hey Bob! Did you get the deck I sent over?');
  await send(alice.page, 'No rush, whenever you have a minute.');
  await bob.page.locator('synkey-conversation-list .item').filter({ hasText: 'alice' }).click();
  await send(bob.page, 'Yes, it looks great. A few notes on slide 4 about the pricing table and the roadmap.');
  await send(bob.page, 'Can we talk at 3?');
  await send(alice.page, 'Sure, 3 works for me.');
  await expect(row(alice.page, 'Sure, 3 works')).toHaveAttribute('data-state', 'read');
  await alice.page.locator('synkey-chat').evaluate((el) => el.setAttribute('theme', 'light'));
  const panel = alice.page.locator('synkey-chat .panel');
  const bg = () => panel.evaluate((el) => getComputedStyle(el).backgroundColor);
  expect(await bg()).toBe('rgb(255, 255, 255)');
  await alice.page.screenshot({ path: test.info().outputPath('widget-light.png'), animations: 'disabled' });
  await alice.page.locator('synkey-chat').evaluate((el) => el.setAttribute('theme', 'dark'));
  expect(await bg()).toBe('rgb(23, 25, 30)');
  await alice.page.screenshot({ path: test.info().outputPath('widget-dark.png'), animations: 'disabled' });

  // The launcher on a phone-sized page: the panel takes the whole screen.
  const phone = await openWidget(browser, 'bob', '&mode=launcher', { width: 320, height: 640 });
  const launcher = phone.page.getByRole('button', { name: 'Open chat' });
  await expect(launcher).toBeVisible();
  await phone.page.screenshot({ path: test.info().outputPath('launcher-closed.png'), animations: 'disabled' });
  await launcher.click();
  await phone.page.locator('synkey-conversation-list .item').filter({ hasText: 'alice' }).click();
  await expect(row(phone.page, 'Sure, 3 works')).toBeVisible();
  const phonePanel = phone.page.locator('synkey-chat .panel');
  // Measured once the panel's opening animation (a slight scale) has finished.
  await phonePanel.evaluate((el) => Promise.all(el.getAnimations().map((a) => a.finished)));
  expect(await phonePanel.boundingBox()).toEqual({ x: 0, y: 0, width: 320, height: 640 });
  await phone.page.screenshot({ path: test.info().outputPath('launcher-320px.png'), animations: 'disabled' });
});

test('launcher: the button names the unread count, the panel is a dialog that Esc closes with focus back on the button, and the events fire', async ({
  browser,
}) => {
  const alice = await openWidget(browser, 'alice');
  await startChat(alice.page, 'bob');
  await send(alice.page, 'one');
  await send(alice.page, 'two');
  const context = await newContext(browser);
  const page = await context.newPage();
  await page.addInitScript(() => {
    const seen: string[] = [];
    Object.assign(window, { seen });
    for (const type of ['synkey-unread', 'synkey-open', 'synkey-close']) {
      document.addEventListener(type, (e) => seen.push(`${type}:${(e as CustomEvent).detail ?? ''}`));
    }
  });
  await page.goto(`${server.url}/widget?user=bob&mode=launcher&z-index=77`);
  const seen = () => page.evaluate(() => (window as unknown as { seen: string[] }).seen);
  const launcher = page.getByRole('button', { name: 'Open chat, 2 unread' });
  await expect(launcher).toBeVisible();
  await expect(launcher.locator('.badge')).toHaveText('2');
  expect(await launcher.evaluate((el) => getComputedStyle(el).zIndex)).toBe('77');
  await expect.poll(seen).toContain('synkey-unread:2');

  await page.screenshot({ path: test.info().outputPath('launcher-unread.png'), animations: 'disabled' });
  await launcher.focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog', { name: 'Messages' });
  await expect(dialog).toBeVisible();
  await page.screenshot({ path: test.info().outputPath('launcher-open.png'), animations: 'disabled' });
  const item = page.locator('synkey-conversation-list .item').filter({ hasText: 'alice' });
  await expect(item).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(row(page, 'two')).toBeVisible();
  await expect(composer(page)).toBeFocused();
  await expect.poll(seen).toContain('synkey-unread:0');
  await expect(page.getByRole('button', { name: 'Close chat' }).first()).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Open chat' })).toBeFocused();
  const events = await seen();
  expect(events.slice(events.indexOf('synkey-unread:2'))).toEqual([
    'synkey-unread:2',
    'synkey-open:',
    'synkey-unread:0',
    'synkey-close:',
  ]);
  await expect(row(alice.page, 'two')).toHaveAttribute('data-state', 'read');
});

test('language: zh-CN and ko strings, Today separators and times come from the locale', async ({ browser }) => {
  const { page } = await openWidget(browser, 'hana', '&lang=zh-CN');
  const chat = page.locator('synkey-chat');
  await expect(chat.locator('header.lh h2')).toHaveText('消息');
  await chat.locator('header.lh').getByRole('button', { name: '新建会话' }).click();
  await page.getByPlaceholder('用户 ID').fill('ivan');
  await page.getByPlaceholder('用户 ID').press('Enter');
  const box = page.getByRole('textbox', { name: '消息' });
  await expect(box).toHaveAttribute('placeholder', '输入消息…');
  await box.fill('你好');
  await box.press('Enter');
  const mine = row(page, '你好');
  await expect(mine.locator('.meta .sr')).toHaveText(/已发送|已送达/);
  await expect(page.locator('synkey-thread .day')).toHaveText('今天');
  await expect(mine.locator('time')).toHaveText(/^\d{1,2}:\d{2}$/);
  await chat.evaluate((el) => el.setAttribute('lang', 'ko'));
  await expect(chat.locator('header.lh h2')).toHaveText('메시지');
  await expect(page.locator('synkey-thread .day')).toHaveText('오늘');
  await expect(mine.locator('time')).toHaveText(/^(오전|오후) \d{1,2}:\d{2}$/);
  await expect(page.getByRole('textbox', { name: '메시지' })).toHaveAttribute('placeholder', '메시지를 입력하세요…');
  await chat.evaluate((el) => el.setAttribute('lang', 'en'));
  await expect(page.locator('synkey-thread .day')).toHaveText('Today');
  await expect(mine.locator('time')).toHaveText(/^\d{1,2}:\d{2} (AM|PM)$/);
});

/** Computed styles of the host page's own elements, to compare with and without the widget. */
function hostStyles(page: Page) {
  return page.evaluate(() => {
    const pick = (el: Element | null) =>
      el
        ? Object.fromEntries([...getComputedStyle(el)].map((p) => [p, getComputedStyle(el).getPropertyValue(p)]))
        : null;
    return {
      probe: pick(document.getElementById('probe')),
      button: pick(document.getElementById('probe-button')),
      body: pick(document.body),
      sheets: document.styleSheets.length + document.adoptedStyleSheets.length,
    };
  });
}

test("host-page CSS resets do not break the widget, and the widget's styles do not leak into the page", async ({
  browser,
}) => {
  const aggressive = '<style>* { all: unset !important; } button { display: none !important; }</style>';
  const open = async (css: string, blockWidget: boolean) => {
    const context = await newContext(browser, { viewport: { width: 1000, height: 700 } });
    await context.route(/\/widget\?/, async (route) => {
      const response = await route.fetch();
      const body = (await response.text())
        .replace('</head>', `${css}</head>`)
        .replace('<body>', '<body><p id="probe">Host text <button id="probe-button">Host button</button></p>');
      await route.fulfill({ response, body });
    });
    if (blockWidget) await context.route('**/assets/widget-*.js', (route) => route.abort());
    const page = await context.newPage();
    await page.goto(`${server.url}/widget?user=judy&mode=launcher`);
    return page;
  };

  // Leaks: the page's own elements compute the same styles with and without the widget.
  const without = await open('', true);
  await expect(without.locator('synkey-chat')).toHaveCount(0);
  const plain = await open('', false);
  await expect(plain.getByRole('button', { name: 'Open chat' })).toBeVisible();
  await plain.getByRole('button', { name: 'Open chat' }).click();
  await expect(plain.getByRole('dialog')).toBeVisible();
  expect(await hostStyles(plain)).toEqual(await hostStyles(without));

  // Resets: `* { all: unset !important }` and `button { display: none !important }` on the host page.
  const page = await open(aggressive, false);
  await expect(page.locator('#probe-button')).toBeHidden();
  const launcher = page.getByRole('button', { name: 'Open chat' });
  await expect(launcher).toBeVisible();
  const box = (await launcher.boundingBox()) ?? { x: 0, y: 0, width: 0, height: 0 };
  expect(box).toEqual({ x: 1000 - 20 - 56, y: 700 - 20 - 56, width: 56, height: 56 });
  expect(await launcher.evaluate((el) => getComputedStyle(el).backgroundColor)).toBe('rgb(37, 99, 235)');
  await launcher.click();
  const panel = page.getByRole('dialog', { name: 'Messages' });
  await expect(panel).toBeVisible();
  await expect.poll(async () => (await panel.boundingBox())?.width).toBe(380);
  expect(await panel.evaluate((el) => getComputedStyle(el).fontFamily)).toMatch(/system-ui/);
  await startChat(page, 'kate');
  await send(page, 'works despite the host CSS');
  await expect(row(page, 'works despite the host CSS')).toHaveAttribute('data-state', /sent|delivered/);
  expect(
    await row(page, 'works despite the host CSS')
      .locator('.bubble')
      .evaluate((el) => getComputedStyle(el).backgroundColor),
  ).toBe('rgb(37, 99, 235)');
  await page.screenshot({ path: test.info().outputPath('host-css-reset.png'), animations: 'disabled' });
});

test('defining the element twice (a second copy of the script) does not throw and the first definition keeps working', async ({
  browser,
}) => {
  const { page, errors } = await openWidget(browser, 'lena');
  await expect(page.locator('synkey-chat header.lh h2')).toHaveText('Messages');
  const result = await page.evaluate(async () => {
    const original = customElements.get('synkey-chat');
    const script = document.querySelector<HTMLScriptElement>('script[type="module"][src*="/assets/"]');
    const src = new URL(script?.src ?? '', location.href).href;
    // The same bundle again as a new module instance: new classes for the same tag names.
    const code = (await (await fetch(src)).text())
      .replace(/(["'])\.\/([^"']+\.js)\1/g, (_m, _q, file) => JSON.stringify(new URL(`./${file}`, src).href))
      .replaceAll('import.meta.url', JSON.stringify(src));
    await import(URL.createObjectURL(new Blob([code], { type: 'text/javascript' })));
    return {
      same: customElements.get('synkey-chat') === original,
      count: document.querySelectorAll('synkey-chat').length,
    };
  });
  expect(result).toEqual({ same: true, count: 2 });
  await expect(page.locator('synkey-chat header.lh h2')).toHaveText(['Messages', 'Messages']);
  await page
    .locator('synkey-chat')
    .first()
    .locator('header.lh')
    .getByRole('button', { name: 'New conversation' })
    .click();
  await page.getByPlaceholder('User ID').first().fill('mia');
  await page.getByPlaceholder('User ID').first().press('Enter');
  await composer(page).first().fill('still works');
  await composer(page).first().press('Enter');
  await expect(row(page, 'still works').first()).toHaveAttribute('data-state', /sent|delivered/);
  expect(errors).toEqual([]);
});

type Frames = ReturnType<typeof decodeFrames>;

/**
 * Posts frames over the short link, as the dev user whose token opens the batch. A request that
 * dies on the way (a kept-alive socket the server just closed) is sent again: SENDs are idempotent.
 */
async function post(frames: Uint8Array[], attempts = 3): Promise<Frames> {
  try {
    const res = await fetch(`${server.url}/link`, { method: 'POST', body: Buffer.concat(frames) });
    return decodeFrames(new Uint8Array(await res.arrayBuffer()));
  } catch (error) {
    if (attempts <= 1) throw error;
    return post(frames, attempts - 1);
  }
}

/**
 * Seeds a group of `member` and `senders` others with `total` messages over the short link. The
 * server allows each user a burst of 100 requests, then 50/s: each sender posts 100 SENDs at a time
 * and sends again whatever was refused (the same cmid, so nothing is stored twice).
 */
async function seedGroup(member: string, total: number, senders = 20): Promise<number> {
  const users = Array.from({ length: senders }, (_, i) => `seed${i}`);
  const tokens = await Promise.all(users.map((u) => devToken(server.url, u)));
  const auth = (k: number) => frame(Op.AUTH, 1, { token: tokens[k] as string, device: 'seed' });
  const created = await post([
    auth(0),
    frame(Op.CONV_CREATE, 2, { kind: ConvKind.Group, members: [member, ...users.slice(1)], title: 'Load test' }),
  ]);
  const reply = created.find((f) => f.seq === 2);
  if (reply?.op !== Op.CONV) throw new Error('CONV_CREATE failed');
  const conv = decodeBody(Op.CONV, reply.body).conv.id;
  await Promise.all(
    users.map(async (user, k) => {
      const share = total / senders;
      let next = 0;
      while (next < share) {
        const batch = Array.from({ length: Math.min(100, share - next) }, (_, j) => next + j);
        const sends = batch.map((i) =>
          frame(Op.SEND, i + 2, { cmid: `${user}-${i}`, conv, kind: 1, text: `${user} says ${i}` }),
        );
        const acked = new Set(
          (await post([auth(k), ...sends])).filter((f) => f.op === Op.SEND_ACK).map((f) => f.seq - 2),
        );
        const refused = batch.find((i) => !acked.has(i));
        if (refused === undefined) next += batch.length;
        else {
          next = refused;
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    }),
  );
  return conv;
}

/** The thread's rendered message rows: key and top edge relative to the log's top. */
function rendered(page: Page) {
  return page.locator('synkey-thread .log').evaluate((log) => {
    const top = log.getBoundingClientRect().top;
    return [...log.querySelectorAll<HTMLElement>('.row')].map((el) => ({
      key: el.dataset.k as string,
      id: Number((el.dataset.k as string).slice(2)),
      top: el.getBoundingClientRect().top - top,
    }));
  });
}

test('a thread of 10,000 messages keeps the DOM bounded, and scrolling to the top loads older history without moving the view', async ({
  browser,
}) => {
  test.setTimeout(240_000);
  const conv = await seedGroup('nora', 10_000);
  const { page, errors } = await openWidget(browser, 'nora');
  // Wait until the engine has synced all 10,000, so the history above the first page comes from `before` pages.
  await expect
    .poll(
      () =>
        page.evaluate(async (c) => {
          const w = window as unknown as {
            synkey: { messages(c: number, p: object): Promise<{ convSeq?: number }[]> };
          };
          return (await w.synkey.messages(c, { limit: 1 })).at(-1)?.convSeq;
        }, conv),
      { timeout: 150_000 },
    )
    .toBe(10_000);
  const item = page.locator(`synkey-conversation-list .item[data-conv="${conv}"]`);
  await expect(item).toContainText('Load test');
  await item.click();
  await expect(page.locator('synkey-thread .row').last()).toContainText(/seed\d+ says \d+/);
  const newest = Math.max(...(await rendered(page)).map((r) => r.id));
  expect(await page.locator('synkey-thread .row').count()).toBeLessThanOrEqual(150);

  // Older pages wait for the test's go, as on a slow network: the view can be measured while one is pending.
  await page.evaluate(() => {
    type Client = { messages(conv: number, page?: { before?: number }): Promise<unknown> };
    const w = window as unknown as { synkey: Client; release?: () => void };
    const messages = w.synkey.messages.bind(w.synkey);
    w.synkey.messages = (conv, p) =>
      p?.before === undefined
        ? messages(conv, p)
        : new Promise((resolve) => {
            w.release = () => resolve(messages(conv, p));
          });
  });
  const log = page.locator('synkey-thread .log');
  const loading = page.locator('synkey-thread .top');
  let oldest = newest;
  for (let round = 0; round < 12; round++) {
    await log.evaluate((el) => {
      el.scrollTop = 0;
      // A re-render before the scroll event is handled (a receipt arriving, say) must not pull the view back down.
      ((el.getRootNode() as ShadowRoot).host as HTMLElement & { requestUpdate(): void }).requestUpdate();
    });
    await expect(loading).toContainText('Loading earlier messages');
    // The bubble at the top of the view while the older page is on its way, once the view has settled.
    const before = await log.evaluate(async (el) => {
      for (let i = 0; i < 3; i++) await new Promise(requestAnimationFrame);
      const top = el.getBoundingClientRect().top;
      const first = [...el.querySelectorAll<HTMLElement>('.row')].find((r) => r.getBoundingClientRect().bottom > top);
      (window as unknown as { release: () => void }).release();
      return { key: first?.dataset.k as string, top: (first?.getBoundingClientRect().top ?? 0) - top };
    });
    await expect.poll(async () => Math.min(...(await rendered(page)).map((r) => r.id))).toBeLessThan(oldest);
    await expect(loading).not.toContainText('Loading');
    const after = (await rendered(page)).find((r) => r.key === before.key);
    expect(after, `round ${round}: the bubble at the top is still rendered`).toBeDefined();
    expect(Math.abs((after?.top ?? 0) - before.top), `round ${round}: the view did not move`).toBeLessThanOrEqual(2);
    oldest = Math.min(...(await rendered(page)).map((r) => r.id));
    expect(await page.locator('synkey-thread .row').count()).toBeLessThanOrEqual(150);
  }
  expect(newest - oldest).toBeGreaterThanOrEqual(500);

  // Scrolled up, a new message shows the "new messages" pill instead of moving the view.
  const pill = page.locator('synkey-thread .pill');
  await expect(pill).toHaveCount(0);
  const token = await devToken(server.url, 'seed3');
  await post([
    frame(Op.AUTH, 1, { token, device: 'late' }),
    frame(Op.SEND, 2, { cmid: 'late-1', conv, kind: 1, text: 'a late one' }),
  ]);
  await expect(pill).toContainText('New messages');
  await expect(pill.locator('.count')).toHaveText('1');
  await expect(row(page, 'a late one')).toHaveCount(0);
  await pill.click();
  await expect(row(page, 'a late one')).toBeInViewport();
  await page.screenshot({ path: test.info().outputPath('group-thread.png'), animations: 'disabled' });
  await expect(pill).toHaveCount(0);
  expect(await page.locator('synkey-thread .row').count()).toBeLessThanOrEqual(150);
  expect(errors).toEqual([]);
});

test('when IndexedDB cannot be used the banner says messages will not be kept, and chat still works', async ({
  browser,
}) => {
  const context = await newContext(browser);
  const probe = await context.newPage();
  await probe.goto(`${server.url}/healthz`);
  // A database from a newer version of the app: the engine cannot open it and runs in memory.
  await probe.evaluate(
    (name) =>
      new Promise<void>((resolve, reject) => {
        const req = indexedDB.open(name, 9999);
        req.onsuccess = () => {
          req.result.close();
          resolve();
        };
        req.onerror = () => reject(req.error);
      }),
    `synkey:${server.url}|olga`,
  );
  await probe.close();
  const page = await context.newPage();
  await page.goto(`${server.url}/widget?user=olga&peer=pete`);
  await expect(banner(page)).toHaveText('Messages will not be kept after you close this page.');
  await expect(page.locator('synkey-chat header.th h2')).toHaveText('pete');
  await composer(page).fill('kept in memory only');
  await composer(page).press('Enter');
  await expect(row(page, 'kept in memory only')).toHaveAttribute('data-state', 'sent');
});

test('hosts theme the widget with --synkey-* custom properties and ::part, and the peer attribute opens that conversation', async ({
  browser,
}) => {
  const context = await newContext(browser);
  await context.route(/\/widget\?/, async (route) => {
    const response = await route.fetch();
    const css = `<style>
      synkey-chat { --synkey-accent: rgb(124, 58, 237); --synkey-radius: 4px; --synkey-font: Georgia, serif; }
      synkey-chat::part(header) { background: rgb(250, 245, 255); }
      synkey-chat::part(bubble-mine) { box-shadow: none; border: 2px solid rgb(0, 0, 0); }
    </style>`;
    await route.fulfill({ response, body: (await response.text()).replace('</head>', `${css}</head>`) });
  });
  const page = await context.newPage();
  await page.goto(`${server.url}/widget?user=quinn&peer=rosa`);
  await expect(page.locator('synkey-chat header.th h2')).toHaveText('rosa');
  await composer(page).fill('purple');
  await composer(page).press('Enter');
  const bubble = row(page, 'purple').locator('.bubble');
  await expect(bubble).toHaveCSS('background-color', 'rgb(124, 58, 237)');
  await expect(bubble).toHaveCSS('border-top-color', 'rgb(0, 0, 0)');
  await expect(page.locator('synkey-chat header.th')).toHaveCSS('background-color', 'rgb(250, 245, 255)');
  await expect(page.locator('synkey-chat .panel')).toHaveCSS('border-top-left-radius', '4px');
  await expect(page.locator('synkey-chat .panel')).toHaveCSS('font-family', 'Georgia, serif');
});
