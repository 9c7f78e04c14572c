import { type BrowserContext, expect, type Locator, type Page } from '@playwright/test';
import { decodeBody, decodeFrames, frame, type Message, Op } from '@synkey/protocol';

/** A dev-mode token for `user`. */
export async function devToken(server: string, user: string): Promise<string> {
  const res = await fetch(`${server}/dev/token?user=${encodeURIComponent(user)}`);
  return ((await res.json()) as { token: string }).token;
}

/** The number of long links the server holds for `user`. */
export async function connections(server: string, user: string): Promise<number> {
  const res = await fetch(`${server}/dev/connections?user=${encodeURIComponent(user)}`);
  return ((await res.json()) as { connections: number }).connections;
}

/** Every message of a conversation as the server stores it, read over the short link as `user`. */
export async function history(server: string, user: string, conv: number): Promise<Message[]> {
  const body = Buffer.concat([
    frame(Op.AUTH, 1, { token: await devToken(server, user), device: 'e2e-checker' }),
    frame(Op.HISTORY, 2, { conv, limit: 200 }),
  ]);
  const res = await fetch(`${server}/link`, { method: 'POST', body });
  const frames = decodeFrames(new Uint8Array(await res.arrayBuffer()));
  const reply = frames.find((f) => f.seq === 2);
  if (!reply || reply.op !== Op.HISTORY_REPLY) throw new Error('HISTORY failed');
  return decodeBody(Op.HISTORY_REPLY, reply.body).msgs;
}

/** Opens the SDK demo page as `user` and waits until its client is running. */
export async function openChat(
  context: BrowserContext,
  server: string,
  user: string,
  query = '',
  site = server,
): Promise<Page> {
  const page = await context.newPage();
  const chat = site === server ? '' : `&server=${encodeURIComponent(server)}`;
  await page.goto(`${site}/sdk?user=${encodeURIComponent(user)}${chat}${query}`);
  await page.waitForFunction(() => 'synkey' in window);
  return page;
}

/** Creates (or finds) the direct conversation of the page's user with `peer`; returns its id. */
export async function directWith(page: Page, peer: string): Promise<number> {
  return page.evaluate(async (p) => {
    const w = window as unknown as { synkey: { createConversation(o: unknown): Promise<{ id: number }> } };
    return (await w.synkey.createConversation({ kind: 1, members: [p] })).id;
  }, peer);
}

/** Opens a conversation in the demo UI by clicking it in the list. */
export async function openConversation(page: Page, conv: number): Promise<void> {
  await page.locator(`#convs button[data-conv="${conv}"]`).click();
}

/** The texts and states the thread shows. */
export async function thread(page: Page): Promise<{ text: string; state: string }[]> {
  return page.locator('#thread li').evaluateAll((lis) =>
    lis.map((li) => ({
      text: li.querySelector('.text')?.textContent ?? '',
      state: (li as HTMLElement).dataset.state ?? '',
    })),
  );
}

/** Waits until the server holds `n` long links for `user`. */
export async function expectConnections(server: string, user: string, n: number): Promise<void> {
  await expect.poll(() => connections(server, user), { timeout: 20_000 }).toBe(n);
}

/** Takes `user`'s connection offline on the server (dev mode's switch), or lets it back. */
export async function setOffline(server: string, user: string, on: boolean): Promise<void> {
  const res = await fetch(`${server}/dev/offline?user=${encodeURIComponent(user)}&on=${on ? 1 : 0}`, {
    method: 'POST',
  });
  if (!res.ok) throw new Error(`/dev/offline answered ${res.status}`);
}

/** One user's `<synkey-chat>` on the landing page (`/`). */
export function landingChat(page: Page, user: string): Locator {
  return page.locator(`.person[data-user="${user}"] synkey-chat`);
}

/** The thread row of `user`'s chat on the landing page that holds `text`. */
export function landingRow(page: Page, user: string, text: string): Locator {
  return landingChat(page, user).locator('synkey-thread .row').filter({ hasText: text });
}

/** Opens the landing page and waits until both users' widgets are online with their conversation open. */
export async function openLanding(context: BrowserContext, server: string, query = ''): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${server}/${query}`);
  for (const user of ['alice', 'bob']) {
    await expect(page.locator(`.person[data-user="${user}"] .link-state`)).toHaveText('Online', { timeout: 20_000 });
    await expect(landingChat(page, user).getByRole('textbox', { name: 'Message' })).toBeVisible();
  }
  return page;
}

/** Types `text` into `user`'s composer on the landing page and presses Enter. */
export async function landingSend(page: Page, user: string, text: string): Promise<void> {
  const box = landingChat(page, user).getByRole('textbox', { name: 'Message' });
  await box.fill(text);
  await box.press('Enter');
  await expect(landingRow(page, user, text)).toHaveCount(1);
}

/** The id of the conversation `user`'s widget shows on the landing page. */
export async function landingConversation(page: Page, user: string): Promise<number> {
  return landingChat(page, user).evaluate((el) => (el as HTMLElement & { current: number }).current);
}

/** Where the engine of the page's (first) `<synkey-chat>` runs: `worker`, `shared-worker` or `main` (in the page). */
export function runtimeOf(page: Page): Promise<string | undefined> {
  return page
    .locator('synkey-chat')
    .first()
    .evaluate((el) => {
      // Before Lit has loaded, the embed's launcher shell has handed the element its client.
      const chat = el as HTMLElement & { activeClient?: { runtime: string }; client?: { runtime: string } };
      return (chat.activeClient ?? chat.client)?.runtime;
    });
}
