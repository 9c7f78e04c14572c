import { randomBytes } from 'node:crypto';
import AxeBuilder from '@axe-core/playwright';
import { type Browser, type BrowserContext, expect, type Locator, type Page, type Route, test } from '@playwright/test';
import sharp from 'sharp';
import { history, runtimeOf } from '../helpers';
import { ServerProcess } from '../server-process';

// Widget media end to end: images (file chooser, paste, drop, thumbnails, viewer, resumable and
// cancellable uploads, retry) and voice notes (Chromium's fake microphone, playback on the other side).

let server: ServerProcess;
const contexts: BrowserContext[] = [];

test.beforeEach(async () => {
  server = await ServerProcess.start();
});
test.afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close()));
  await server.dispose();
});

/** Opens the widget demo page as `user` (inline, with `query`), in a fresh context. */
async function openWidget(browser: Browser, user: string, query = '', viewport = { width: 1000, height: 760 }) {
  const context = await browser.newContext({ viewport });
  contexts.push(context);
  const page = await context.newPage();
  const errors: Error[] = [];
  page.on('pageerror', (e) => errors.push(e));
  await page.goto(`${server.url}/widget?user=${encodeURIComponent(user)}${query}`);
  await page.waitForFunction(() => (window as unknown as { synkey?: unknown }).synkey !== undefined);
  return { context, page, errors };
}

/** A PNG of `width` × `height`: one colour, or random noise (incompressible, so it takes several chunks). */
function png(width: number, height: number, noise = false): Promise<Buffer> {
  return noise
    ? sharp(randomBytes(width * height * 3), { raw: { width, height, channels: 3 } })
        .png({ compressionLevel: 0 })
        .toBuffer()
    : sharp({ create: { width, height, channels: 3, background: '#3b82f6' } })
        .png()
        .toBuffer();
}

const composer = (page: Page) => page.getByRole('textbox', { name: 'Message' });
const rows = (page: Page) => page.locator('synkey-thread .row');
const images = (page: Page) => page.locator('synkey-thread .row:has(.pic)');
const voices = (page: Page) => page.locator('synkey-thread .row:has(.vn)');

/** Picks `files` with the composer's attach button (the real file chooser). */
async function attach(page: Page, ...files: { name: string; mimeType: string; buffer: Buffer }[]) {
  const chooser = page.waitForEvent('filechooser');
  await page.getByRole('button', { name: 'Attach photos' }).click();
  await (await chooser).setFiles(files);
}

/** The rendered size of an element, rounded. */
/** The laid-out size of an element: unaffected by transforms, such as the panel's opening animation. */
function size(el: Locator) {
  return el.evaluate((e) => ({ w: (e as HTMLElement).offsetWidth, h: (e as HTMLElement).offsetHeight }));
}

/** The decoded size of an `<img>` (0 × 0 until it loaded). */
const natural = (img: Locator) =>
  img.evaluate((el: HTMLImageElement) => ({ w: el.complete ? el.naturalWidth : 0, h: el.naturalHeight }));

/** The chunk index of an upload PUT (`/media/uploads/<upload>/<index>`), else undefined. */
function chunkOf(route: Route): number | undefined {
  const m = /\/media\/uploads\/[^/]+\/(\d+)$/.exec(new URL(route.request().url()).pathname);
  return route.request().method() === 'PUT' && m ? Number(m[1]) : undefined;
}

test('an image chosen with the file chooser arrives at the other user as a thumbnail of its aspect ratio (reserved before it loads) and opens full size', async ({
  browser,
}) => {
  const alice = await openWidget(browser, 'alice', '&peer=bob');
  await expect(composer(alice.page)).toBeVisible();
  await attach(alice.page, { name: 'wide.png', mimeType: 'image/png', buffer: await png(800, 400) });
  const tray = alice.page.locator('synkey-composer .tray img');
  await expect(tray).toHaveCount(1);
  const caption = '<b>look</b> at this';
  await composer(alice.page).fill(caption);
  await composer(alice.page).press('Enter');
  await expect(tray).toHaveCount(0);
  const mine = images(alice.page);
  await expect(mine).toHaveCount(1);
  await expect(mine).toHaveAttribute('data-state', /sent|delivered/, { timeout: 20_000 });
  expect(await size(mine.locator('.frame'))).toEqual({ w: 240, h: 120 });

  // Bob's thumbnail waits for the test's go, so the box it takes before loading can be measured (his
  // engine runs in a dedicated worker, whose requests the test can hold). His chat is the launcher.
  const bob = await openWidget(browser, 'bob', '&runtime=worker&mode=launcher');
  let release = () => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  await bob.context.route(/\/media\/[^/]+\/thumb$/, async (route) => {
    await gate;
    await route.continue();
  });
  await bob.page.getByRole('button', { name: 'Open chat, 1 unread' }).click();
  const item = bob.page.locator('synkey-conversation-list .item').filter({ hasText: 'alice' });
  await expect(item).toContainText('📷 <b>look</b> at this');
  await item.click();
  const theirs = images(bob.page);
  await expect(theirs).toHaveCount(1);
  const frame = theirs.locator('.frame');
  expect(await size(frame)).toEqual({ w: 240, h: 120 });
  await expect(theirs.locator('img')).toHaveCount(0);
  const before = await size(theirs);
  release();
  const thumb = theirs.locator('img');
  await expect.poll(async () => (await natural(thumb)).w).toBeGreaterThan(0);
  const t = await natural(thumb);
  expect(t.w / t.h).toBeCloseTo(2, 1);
  expect(t.w).toBeLessThanOrEqual(480);
  expect(await size(theirs)).toEqual(before);
  expect(await thumb.getAttribute('src')).toMatch(/^blob:/);
  // The caption is text: the markup shows as typed and makes no element.
  await expect(theirs.locator('.cap .text')).toHaveText(caption);
  await expect(theirs.locator('.cap b')).toHaveCount(0);

  // Full size in a modal viewer: named after the file, Tab stays on its close button, Esc closes it
  // and puts focus back on the thumbnail.
  const open = theirs.getByRole('button', { name: 'View wide.png' });
  await open.focus();
  await bob.page.keyboard.press('Enter');
  const viewer = bob.page.getByRole('dialog', { name: 'wide.png' });
  await expect(viewer).toBeVisible();
  const full = viewer.getByRole('img', { name: 'wide.png' });
  await expect.poll(async () => (await natural(full)).w).toBe(800);
  const close = viewer.getByRole('button', { name: 'Close photo' });
  await expect(close).toBeFocused();
  await bob.page.keyboard.press('Tab');
  await expect(close).toBeFocused();
  await bob.page.screenshot({ path: test.info().outputPath('image-viewer.png'), animations: 'disabled' });
  await bob.page.keyboard.press('Escape');
  await expect(viewer).toHaveCount(0);
  await expect(open).toBeFocused();
  // That Esc closed only the viewer, not the chat panel.
  await expect(bob.page.getByRole('dialog', { name: 'Messages' })).toBeVisible();

  const stored = await history(server.url, 'bob', 1);
  expect(stored).toHaveLength(1);
  expect(stored[0]).toMatchObject({ kind: 2, text: caption, media: { mime: 'image/png', width: 800, height: 400 } });
  await bob.page.screenshot({ path: test.info().outputPath('image-thread.png'), animations: 'disabled' });
  expect([...alice.errors, ...bob.errors]).toEqual([]);
});

test('several files chosen at once become several messages in order; pasted and dropped images are staged, other files refused', async ({
  browser,
}) => {
  const { page, errors } = await openWidget(browser, 'carol', '&peer=dave');
  await expect(composer(page)).toBeVisible();
  await attach(
    page,
    { name: 'one.png', mimeType: 'image/png', buffer: await png(300, 300) },
    { name: 'two.png', mimeType: 'image/png', buffer: await png(200, 400) },
  );
  const tray = page.locator('synkey-composer .tray li');
  await expect(tray).toHaveCount(2);

  // Pasting a screenshot adds it; pasting a text file is refused with a message.
  const paste = (name: string, type: string, bytes: number[]) =>
    composer(page).evaluate(
      (box, [name, type, bytes]) => {
        const data = new DataTransfer();
        data.items.add(new File([new Uint8Array(bytes as number[])], name as string, { type: type as string }));
        box.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
      },
      [name, type, bytes] as const,
    );
  await paste('pasted.png', 'image/png', [...(await png(120, 60))]);
  await expect(tray).toHaveCount(3);
  await paste('notes.txt', 'text/plain', [104, 105]);
  await expect(page.getByRole('alert')).toHaveText('Only JPEG, PNG, WebP and GIF images can be sent.');
  await expect(tray).toHaveCount(3);

  // Dragging files over the thread shows the drop zone; dropping stages them.
  const log = page.locator('synkey-thread .log');
  const dropped = await png(100, 100);
  const drag = (type: string) =>
    log.evaluate(
      (el, [type, bytes]) => {
        const data = new DataTransfer();
        data.items.add(new File([new Uint8Array(bytes as number[])], 'dropped.png', { type: 'image/png' }));
        el.dispatchEvent(
          new DragEvent(type as string, { dataTransfer: data, bubbles: true, composed: true, cancelable: true }),
        );
      },
      [type, [...dropped]] as const,
    );
  await drag('dragenter');
  await expect(page.locator('synkey-thread .drop')).toHaveText('Drop photos here');
  await drag('drop');
  await expect(page.locator('synkey-thread .drop')).toHaveCount(0);
  await expect(tray).toHaveCount(4);
  await tray.nth(2).getByRole('button', { name: 'Remove pasted.png' }).click();
  await expect(tray).toHaveCount(3);

  await page.getByRole('button', { name: 'Send' }).click();
  await expect(images(page)).toHaveCount(3);
  await expect(images(page).locator('.frame')).toHaveCount(3);
  expect(await Promise.all([0, 1, 2].map((i) => size(images(page).nth(i).locator('.frame'))))).toEqual([
    { w: 240, h: 240 },
    { w: 150, h: 300 },
    { w: 100, h: 100 },
  ]);
  await expect
    .poll(async () => (await history(server.url, 'dave', 1)).map((m) => m.media?.name), { timeout: 30_000 })
    .toEqual(['one.png', 'two.png', 'dropped.png']);
  expect(errors).toEqual([]);
});

test('reload in the middle of an upload: it resumes and completes without sending again the chunks the server holds', async ({
  browser,
}) => {
  test.setTimeout(120_000);
  const { context, page } = await openWidget(browser, 'erin', '&peer=frank&runtime=worker');
  await expect(composer(page)).toBeVisible();
  const big = await png(1100, 1000, true);
  // Two chunks go through; the others wait until the page has been reloaded.
  const puts = new Map<number, number>();
  const held = new Set<number>();
  let hold = true;
  let passed = 0;
  await context.route(/\/media\/uploads\/[^/]+\/\d+$/, async (route) => {
    const index = chunkOf(route);
    if (index === undefined) return route.continue();
    puts.set(index, (puts.get(index) ?? 0) + 1);
    if (hold && passed >= 2) return; // left hanging: the reload drops it
    passed++;
    const response = await route.fetch();
    if (response.status() === 204) held.add(index);
    await route.fulfill({ response });
  });
  await attach(page, { name: 'noise.png', mimeType: 'image/png', buffer: big });
  await composer(page).press('Enter');
  const row = images(page);
  await expect(row.getByRole('button', { name: /^Cancel upload/ })).toBeVisible();
  await expect.poll(() => held.size).toBe(2);

  const heldBefore = [...held];
  hold = false;
  await page.reload();
  await page.waitForFunction(() => (window as unknown as { synkey?: unknown }).synkey !== undefined);
  const again = images(page);
  await expect(again).toHaveAttribute('data-state', /sent|delivered/, { timeout: 60_000 });
  for (const index of heldBefore) expect(puts.get(index), `chunk ${index} was sent once`).toBe(1);
  const chunks = Math.max(...puts.keys()) + 1;
  expect(chunks).toBeGreaterThanOrEqual(4);
  expect([...puts.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: chunks }, (_, i) => i));
  const stored = await history(server.url, 'frank', 1);
  expect(stored).toHaveLength(1);
  expect(stored[0]?.media).toMatchObject({ width: 1100, height: 1000, name: 'noise.png' });
  expect(await size(again.locator('.frame'))).toEqual({ w: 240, h: 218 });
});

test('cancelling during the upload removes the message, and nothing is sent', async ({ browser }) => {
  const { context, page, errors } = await openWidget(browser, 'gina', '&peer=hank&runtime=worker');
  await expect(composer(page)).toBeVisible();
  await context.route(/\/media\/uploads\/[^/]+\/\d+$/, (route) =>
    chunkOf(route) === undefined ? route.continue() : undefined,
  );
  await attach(page, { name: 'cancel-me.png', mimeType: 'image/png', buffer: await png(640, 480, true) });
  await composer(page).press('Enter');
  const row = images(page);
  const cancel = row.getByRole('button', { name: /^Cancel upload \(\d+%\)$/ });
  await expect(cancel).toBeVisible();
  await expect(row).toHaveAttribute('data-state', 'sending');
  // The local file shows while it uploads.
  await expect.poll(async () => (await natural(row.locator('img'))).w).toBe(640);
  await cancel.click();
  await expect(row).toHaveCount(0);
  await expect(composer(page)).toBeFocused();
  await context.unrouteAll({ behavior: 'ignoreErrors' });
  await composer(page).fill('after the cancelled one');
  await composer(page).press('Enter');
  await expect(rows(page).filter({ hasText: 'after the cancelled one' })).toHaveAttribute(
    'data-state',
    /sent|delivered/,
  );
  expect((await history(server.url, 'hank', 1)).map((m) => [m.kind, m.text])).toEqual([[1, 'after the cancelled one']]);
  await expect(images(page)).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('an upload that fails while the server is down shows the red "!", and Retry completes it', async ({ browser }) => {
  test.setTimeout(120_000);
  const { page } = await openWidget(browser, 'iris', '&peer=jack&sendBudgetMs=1500');
  await expect(composer(page)).toBeVisible();
  await server.stop();
  await attach(page, { name: 'later.png', mimeType: 'image/png', buffer: await png(400, 300) });
  await composer(page).press('Enter');
  const row = images(page);
  await expect(row).toHaveAttribute('data-state', 'failed', { timeout: 60_000 });
  const retry = row.getByRole('button', { name: 'Not sent. Retry' });
  await expect(retry).toHaveText('!');
  await expect(row.locator('.caption')).toContainText('Not sent');
  await page.screenshot({ path: test.info().outputPath('image-failed.png'), animations: 'disabled' });
  await server.launch();
  await expect(page.locator('synkey-banner p')).toHaveCount(0, { timeout: 30_000 });
  await retry.click();
  await expect(row).toHaveAttribute('data-state', /sent|delivered/, { timeout: 30_000 });
  const stored = await history(server.url, 'jack', 1);
  expect(stored.map((m) => [m.kind, m.media?.width, m.media?.height])).toEqual([[2, 400, 300]]);
});

test('a voice note recorded with the fake microphone (tap to start, tap to send) plays on the other side with its duration', async ({
  browser,
}) => {
  const alice = await openWidget(browser, 'alice', '&peer=bob');
  await expect(composer(alice.page)).toBeVisible();
  const record = alice.page.getByRole('button', { name: 'Record a voice message' });
  await record.click();
  const timer = alice.page.getByRole('timer', { name: 'Recording' });
  await expect(timer).toBeVisible();
  await expect(timer).toContainText('0:02', { timeout: 10_000 });
  await alice.page.getByRole('button', { name: 'Send voice message' }).click();
  await expect(timer).toHaveCount(0);
  const mine = voices(alice.page);
  await expect(mine).toHaveAttribute('data-state', /sent|delivered/, { timeout: 20_000 });
  const length = (await mine.locator('.dur').textContent()) ?? '';
  expect(length).toMatch(/^0:0[2-5]$/);

  const bob = await openWidget(browser, 'bob');
  const item = bob.page.locator('synkey-conversation-list .item').filter({ hasText: 'alice' });
  await expect(item).toContainText(`🎤 Voice message (${length})`);
  await item.click();
  const theirs = voices(bob.page);
  await expect(theirs.locator('.dur')).toHaveText(length);
  const slider = theirs.getByRole('slider', { name: 'Playback position' });
  await expect(slider).toHaveAttribute('aria-valuetext', `0:00 of ${length}`);
  await theirs.getByRole('button', { name: 'Play voice message' }).click();
  await expect(theirs.getByRole('button', { name: 'Pause voice message' })).toBeVisible();
  await expect.poll(async () => Number(await slider.getAttribute('aria-valuenow'))).toBeGreaterThan(300);
  await bob.page.screenshot({ path: test.info().outputPath('voice-playing.png'), animations: 'disabled' });
  // Played to the end, it is ready to play again from the start.
  await expect(theirs.getByRole('button', { name: 'Play voice message' })).toBeVisible({ timeout: 15_000 });
  await expect(theirs.locator('.dur')).toHaveText(length);
  // Seeking by keyboard.
  await slider.focus();
  await bob.page.keyboard.press('ArrowRight');
  await expect(slider).toHaveAttribute('aria-valuenow', '1000');
  await bob.page.keyboard.press('ArrowLeft');
  await expect(slider).toHaveAttribute('aria-valuenow', '0');

  const stored = await history(server.url, 'bob', 1);
  expect(stored).toHaveLength(1);
  expect(stored[0]?.kind).toBe(3);
  expect(stored[0]?.media?.mime).toMatch(/^audio\//);
  expect(stored[0]?.media?.durationMs).toBeGreaterThanOrEqual(1500);
  expect([...alice.errors, ...bob.errors]).toEqual([]);
});

test('press-and-hold records and sends on release; sliding away or Esc cancels; only one note plays at a time', async ({
  browser,
}) => {
  const { page, errors } = await openWidget(browser, 'kim', '&peer=lee');
  await expect(composer(page)).toBeVisible();
  const record = page.getByRole('button', { name: 'Record a voice message' });
  const timer = page.getByRole('timer', { name: 'Recording' });
  const box = (await record.boundingBox()) ?? { x: 0, y: 0, width: 0, height: 0 };
  const [x, y] = [box.x + box.width / 2, box.y + box.height / 2];

  // Hold, then release: sent.
  await page.mouse.move(x, y);
  await page.mouse.down();
  await expect(timer).toContainText('0:01', { timeout: 10_000 });
  await expect(page.locator('synkey-composer .hint')).toHaveText('Slide away to cancel');
  await page.mouse.up();
  await expect(voices(page)).toHaveCount(1);

  // Hold, slide away, release: cancelled.
  await page.mouse.down();
  await expect(timer).toContainText('0:01', { timeout: 10_000 });
  await page.mouse.move(x - 150, y, { steps: 5 });
  await expect(page.locator('synkey-composer .hint')).toHaveText('Release to cancel');
  await page.mouse.up();
  await expect(timer).toHaveCount(0);

  // Keyboard: Enter starts, Esc cancels (and leaves the chat open), Enter twice records and sends.
  await record.focus();
  await page.keyboard.press('Enter');
  await expect(timer).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(timer).toHaveCount(0);
  await expect(record).toBeVisible();
  await record.focus();
  await page.keyboard.press('Enter');
  await expect(timer).toContainText('0:01', { timeout: 10_000 });
  const send = page.getByRole('button', { name: 'Send voice message' });
  await expect(send).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(voices(page)).toHaveCount(2);
  await expect(voices(page).nth(1)).toHaveAttribute('data-state', /sent|delivered/, { timeout: 20_000 });
  await expect(voices(page).nth(0)).toHaveAttribute('data-state', /sent|delivered/, { timeout: 20_000 });
  const stored = await history(server.url, 'lee', 1);
  expect(stored.map((m) => m.kind)).toEqual([3, 3]);

  // Starting the second note pauses the first.
  const play = (i: number) =>
    voices(page)
      .nth(i)
      .getByRole('button', { name: /voice message$/ });
  await play(0).click();
  await expect(play(0)).toHaveAccessibleName('Pause voice message');
  await play(1).click();
  await expect(play(1)).toHaveAccessibleName('Pause voice message');
  await expect(play(0)).toHaveAccessibleName('Play voice message');
  expect(errors).toEqual([]);
});

test('a refused microphone gives a clear message and the composer keeps working', async ({ browser }) => {
  const { context, page } = await openWidget(browser, 'mona', '&peer=ned');
  await expect(composer(page)).toBeVisible();
  await context.clearPermissions();
  await page.evaluate(() => {
    navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('denied', 'NotAllowedError'));
  });
  await page.getByRole('button', { name: 'Record a voice message' }).click();
  await expect(page.getByRole('alert')).toHaveText('Microphone access is blocked. Allow it in your browser to record.');
  await expect(page.getByRole('timer')).toHaveCount(0);
  await composer(page).fill('typed instead');
  await expect(page.getByRole('alert')).toHaveCount(0);
  await composer(page).press('Enter');
  await expect(rows(page).filter({ hasText: 'typed instead' })).toHaveAttribute('data-state', /sent|delivered/);
});

test('on a 320 px phone, in dark theme, image and voice bubbles fit the screen', async ({ browser }) => {
  const alice = await openWidget(browser, 'alice', '&peer=bob&theme=dark', { width: 320, height: 640 });
  await expect(composer(alice.page)).toBeVisible();
  await attach(alice.page, { name: 'tall.png', mimeType: 'image/png', buffer: await png(600, 900) });
  await composer(alice.page).press('Enter');
  await expect(images(alice.page)).toHaveAttribute('data-state', /sent|delivered/, { timeout: 20_000 });
  await alice.page.getByRole('button', { name: 'Record a voice message' }).click();
  await expect(alice.page.getByRole('timer')).toContainText('0:01', { timeout: 10_000 });
  await alice.page.getByRole('button', { name: 'Send voice message' }).click();
  await expect(voices(alice.page)).toHaveAttribute('data-state', /sent|delivered/, { timeout: 20_000 });
  for (const el of [images(alice.page).locator('.bubble'), voices(alice.page).locator('.bubble')]) {
    const b = (await el.boundingBox()) ?? { x: -1, y: 0, width: 999, height: 0 };
    expect(b.x).toBeGreaterThanOrEqual(0);
    expect(b.x + b.width).toBeLessThanOrEqual(320);
  }
  const frame = await size(images(alice.page).locator('.frame'));
  expect(frame.w / frame.h).toBeCloseTo(600 / 900, 1);
  await alice.page.screenshot({ path: test.info().outputPath('media-320px-dark.png'), animations: 'disabled' });
});

test('through the script-tag embed on another origin, with the engine in the page (CSP forbids blob: workers), a photo arrives and displays', async ({
  browser,
}) => {
  const chat = server.url;
  const site = `http://localhost:${server.port}`;
  // A site's CSP must let the chat show `blob:` pictures and audio; workers stay forbidden here.
  const csp = [
    "default-src 'self'",
    `script-src 'self' ${chat}`,
    `connect-src 'self' ${chat} ${chat.replace('http', 'ws')}`,
    "worker-src 'none'",
    "img-src 'self' blob:",
    'media-src blob:',
    "style-src 'self' 'unsafe-inline'",
  ].join('; ');
  const host = async (user: string) => {
    const context = await browser.newContext({ viewport: { width: 1000, height: 760 } });
    contexts.push(context);
    const page = await context.newPage();
    await page.route(`${site}/host`, (route) =>
      route.fulfill({
        contentType: 'text/html',
        headers: { 'content-security-policy': csp },
        body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>A shop</title></head><body>
<script async src="${chat}/synkey.js" data-server="${chat}" data-token-url="/api/chat-token" data-peer="${user === 'olga' ? 'pia' : 'olga'}"></script>
</body></html>`,
      }),
    );
    await page.route(`${site}/api/chat-token`, async (route) => {
      const res = await fetch(`${chat}/dev/token?user=${user}`);
      await route.fulfill({ json: await res.json() });
    });
    await page.goto(`${site}/host`);
    await page.getByRole('button', { name: /Open chat/ }).click();
    return page;
  };
  const olga = await host('olga');
  await expect(composer(olga)).toBeVisible();
  await attach(olga, { name: 'embed.png', mimeType: 'image/png', buffer: await png(300, 200) });
  await composer(olga).press('Enter');
  await expect(images(olga)).toHaveAttribute('data-state', /sent|delivered/, { timeout: 20_000 });
  expect(await runtimeOf(olga), 'the engine runs in the page').toBe('main');
  const pia = await host('pia');
  const thumb = images(pia).locator('img');
  await expect.poll(async () => (await natural(thumb)).w, { timeout: 20_000 }).toBeGreaterThan(0);
  expect(await size(images(pia).locator('.frame'))).toEqual({ w: 240, h: 160 });
});

test('axe finds no serious violation in photo and voice bubbles, the staged tray, the recorder and the viewer, light and dark', async ({
  browser,
}) => {
  const alice = await openWidget(browser, 'alice', '&peer=bob');
  await expect(composer(alice.page)).toBeVisible();
  await attach(alice.page, { name: 'a.png', mimeType: 'image/png', buffer: await png(500, 300) });
  await composer(alice.page).fill('a caption');
  await composer(alice.page).press('Enter');
  await alice.page.getByRole('button', { name: 'Record a voice message' }).click();
  await expect(alice.page.getByRole('timer')).toContainText('0:01', { timeout: 10_000 });
  await alice.page.getByRole('button', { name: 'Send voice message' }).click();
  await expect(voices(alice.page)).toHaveAttribute('data-state', /sent|delivered/, { timeout: 20_000 });
  await expect(images(alice.page)).toHaveAttribute('data-state', /sent|delivered/);

  const bob = await openWidget(browser, 'bob', '&peer=alice');
  await expect(images(bob.page).locator('img')).toHaveCount(1);
  await expect(voices(bob.page)).toHaveCount(1);
  await attach(bob.page, { name: 'b.png', mimeType: 'image/png', buffer: await png(100, 100) });
  for (const theme of ['light', 'dark']) {
    for (const page of [alice.page, bob.page]) {
      await page.locator('synkey-chat').evaluate((el, t) => el.setAttribute('theme', t), theme);
      await scan(page, `the thread in ${theme}`);
    }
  }
  await alice.page.getByRole('button', { name: 'Record a voice message' }).click();
  await expect(alice.page.getByRole('timer')).toBeVisible();
  await scan(alice.page, 'the recorder');
  await alice.page.keyboard.press('Escape');
  await images(bob.page).getByRole('button', { name: 'View a.png' }).click();
  await expect(bob.page.getByRole('dialog', { name: 'a.png' })).toBeVisible();
  await scan(bob.page, 'the viewer');
});

/** Runs axe (WCAG 2.0/2.1 A and AA) and fails on serious or critical violations. */
async function scan(page: Page, what: string): Promise<void> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const blocking = result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) =>
        `${v.id}: ${v.help} — ${v.nodes.map((n) => `${n.target.join(' ')} ${JSON.stringify(n.any[0]?.data ?? '')}`).join(', ')}`,
    );
  expect(blocking, `axe violations on ${what}`).toEqual([]);
}
