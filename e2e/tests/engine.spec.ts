import { expect, type Page, test } from '@playwright/test';
import { connections, directWith, expectConnections, history, openChat, openConversation, thread } from '../helpers';
import { ServerProcess } from '../server-process';

let server: ServerProcess;

test.beforeEach(async () => {
  server = await ServerProcess.start();
});
test.afterEach(async () => {
  await server.dispose();
});

type Synkey = { send(conv: number, c: { text: string }): Promise<string> };
type Info = { info(): Promise<{ owner: boolean }> };

test('reload in the middle of sending 20 messages: all 20 arrive exactly once, in order', async ({ context }) => {
  // The page comes from another origin, so it reloads while the chat server is frozen mid-send.
  const site = await ServerProcess.start();
  try {
    const page = await openChat(context, server.url, 'alice', '', site.url);
    const conv = await directWith(page, 'bob');
    await openConversation(page, conv);
    await server.freeze();
    await page.evaluate(async (c) => {
      const s = (window as unknown as { synkey: Synkey }).synkey;
      for (let i = 1; i <= 20; i++) await s.send(c, { text: `message ${i}` });
    }, conv);
    await page.reload();
    await page.waitForFunction(() => 'synkey' in window);
    await server.thaw();
    await expect.poll(async () => (await history(server.url, 'bob', conv)).length, { timeout: 30_000 }).toBe(20);
    const stored = await history(server.url, 'bob', conv);
    expect(stored.map((m) => m.text)).toEqual(Array.from({ length: 20 }, (_, i) => `message ${i + 1}`));
    await openConversation(page, conv);
    await expect.poll(async () => (await thread(page)).filter((m) => m.state !== 'sending').length).toBe(20);
    expect((await thread(page)).map((m) => m.text)).toEqual(stored.map((m) => m.text));
  } finally {
    await site.dispose();
  }
});

test('server stopped, then restarted: queued messages show sending, then go out once and show sent', async ({
  context,
}) => {
  const page = await openChat(context, server.url, 'alice');
  const conv = await directWith(page, 'bob');
  await openConversation(page, conv);
  await server.stop();
  const box = page.locator('#text');
  for (const text of ['first while down', 'second while down']) {
    await box.fill(text);
    await box.press('Enter');
  }
  await expect(page.locator('#thread li[data-state="sending"]')).toHaveCount(2);
  await expect(page.locator('#state')).not.toHaveText('online');
  await server.launch();
  await expect(page.locator('#thread li[data-state="sending"]')).toHaveCount(0, { timeout: 30_000 });
  await expect(page.locator('#thread li[data-state="sent"]')).toHaveCount(2);
  const stored = await history(server.url, 'bob', conv);
  expect(stored.map((m) => m.text)).toEqual(['first while down', 'second while down']);
});

test('two tabs of one user hold one WebSocket between them and both show every message', async ({ context }) => {
  const tab1 = await openChat(context, server.url, 'carol');
  const tab2 = await openChat(context, server.url, 'carol');
  const conv = await directWith(tab1, 'dave');
  await expectConnections(server.url, 'carol', 1);
  await openConversation(tab1, conv);
  await openConversation(tab2, conv);
  await tab1.locator('#text').fill('from tab one');
  await tab1.locator('#text').press('Enter');
  const dave = await openChat(context, server.url, 'dave');
  await openConversation(dave, conv);
  await dave.locator('#text').fill('hello carol');
  await dave.locator('#text').press('Enter');
  for (const tab of [tab1, tab2]) {
    await expect
      .poll(async () => (await thread(tab)).map((m) => m.text))
      .toEqual(['from tab one', 'dave: hello carol']);
  }
  expect(await connections(server.url, 'carol')).toBe(1);
});

for (const runtime of ['shared-worker', 'worker'] as const) {
  test(`closing the tab that owns the connection hands it over (${runtime})`, async ({ context }) => {
    const first = await openChat(context, server.url, 'erin', `&runtime=${runtime}`);
    const second = await openChat(context, server.url, 'erin', `&runtime=${runtime}`);
    const conv = await directWith(first, 'frank');
    await expectConnections(server.url, 'erin', 1);
    const owner = (page: Page) =>
      page.evaluate(async () => (await (window as unknown as { synkey: Info }).synkey.info()).owner);
    if (runtime === 'worker') {
      expect(await owner(first)).toBe(true);
      expect(await owner(second)).toBe(false);
    }
    await first.close();
    await expect.poll(() => owner(second)).toBe(true);
    await expectConnections(server.url, 'erin', 1);
    await openConversation(second, conv);
    await second.locator('#text').fill('after the handover');
    await second.locator('#text').press('Enter');
    await expect(second.locator('#thread li[data-state="sent"]')).toHaveCount(1, { timeout: 20_000 });
    expect((await history(server.url, 'frank', conv)).map((m) => m.text)).toEqual(['after the handover']);
  });
}

test('when IndexedDB cannot be used the client reports degraded and chat still works in memory', async ({
  context,
}) => {
  const probe = await context.newPage();
  await probe.goto(`${server.url}/healthz`);
  const name = `synkey:${server.url}|gina`;
  // A database from a newer version of the app: ours cannot open it, as after a downgrade.
  await probe.evaluate(
    (n) =>
      new Promise<void>((resolve, reject) => {
        const req = indexedDB.open(n, 9999);
        req.onsuccess = () => {
          req.result.close();
          resolve();
        };
        req.onerror = () => reject(req.error);
      }),
    name,
  );
  await probe.close();
  const page = await openChat(context, server.url, 'gina');
  await expect(page.locator('#storage')).toHaveText('memory');
  await expect(page.locator('#state')).toHaveText('degraded');
  const conv = await directWith(page, 'hank');
  await openConversation(page, conv);
  await page.locator('#text').fill('still works');
  await page.locator('#text').press('Enter');
  await expect(page.locator('#thread li[data-state="sent"]')).toHaveCount(1);
  expect((await history(server.url, 'hank', conv)).map((m) => m.text)).toEqual(['still works']);
});

test('when the page CSP forbids workers the engine runs on the main thread and chat works', async ({ context }) => {
  await context.route('**/sdk?*', async (route) => {
    const response = await route.fetch();
    await route.fulfill({
      response,
      headers: { ...response.headers(), 'content-security-policy': "worker-src 'none'" },
    });
  });
  const page = await openChat(context, server.url, 'ivan');
  await expect(page.locator('#runtime')).toContainText('main');
  const conv = await directWith(page, 'judy');
  await openConversation(page, conv);
  await page.locator('#text').fill('no workers here');
  await page.locator('#text').press('Enter');
  await expect(page.locator('#thread li[data-state="sent"]')).toHaveCount(1);
  expect((await history(server.url, 'judy', conv)).map((m) => m.text)).toEqual(['no workers here']);
});

test('a call to an engine whose worker cannot start rejects instead of hanging', async ({ context }) => {
  const page = await openChat(context, server.url, 'kim');
  const error = await page.evaluate(async () => {
    const { createClient } = (window as unknown as { synkeySdk: typeof import('@synkey/sdk') }).synkeySdk;
    const broken = createClient({
      server: location.origin,
      token: 'x.eyJzdWIiOiJraW0ifQ.x',
      runtime: 'worker',
      createWorker: () => new Worker(URL.createObjectURL(new Blob(['throw new Error("boom")']))),
    });
    try {
      await broken.conversations();
      return 'resolved';
    } catch (e) {
      return (e as { code?: string }).code ?? String(e);
    }
  });
  expect(error).toMatch(/UNAVAILABLE|TIMEOUT/);
});

test('a message that cannot be sent turns failed; Retry sends it with the same id once the server is back', async ({
  context,
}) => {
  const page = await openChat(context, server.url, 'lena', '&sendBudgetMs=2000');
  const conv = await directWith(page, 'mike');
  await openConversation(page, conv);
  await server.stop();
  await page.locator('#text').fill('sent after a retry');
  await page.locator('#text').press('Enter');
  const failed = page.locator('#thread li[data-state="failed"]');
  await expect(failed).toHaveCount(1, { timeout: 30_000 });
  const cmid = await failed.getAttribute('data-cmid');
  await server.launch();
  await expect.poll(() => page.locator('#state').textContent(), { timeout: 30_000 }).toBe('online');
  await failed.getByRole('button', { name: 'Retry' }).click();
  await expect(page.locator(`#thread li[data-cmid="${cmid}"]`)).toHaveAttribute('data-state', /sent|delivered/);
  const stored = await history(server.url, 'mike', conv);
  expect(stored.map((m) => m.text)).toEqual(['sent after a retry']);
});
