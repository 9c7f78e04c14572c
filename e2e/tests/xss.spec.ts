import { expect, type Page, test } from '@playwright/test';
import { ConvKind, decodeBody, decodeFrames, frame, MsgKind, Op } from '@synkey/protocol';
import { devToken } from '../helpers';
import { ServerProcess } from '../server-process';

// Hostile text sent as message text, group titles and user ids must reach the widget as inert text:
// nothing runs, no element or attribute is injected, and the text reads exactly as it was sent.
// Every payload that would run sets `window.__xss` or calls alert/confirm/prompt.

const CORPUS = [
  '<script>window.__xss="script"</script>',
  '<img src=x onerror="window.__xss=\'img\'">',
  '<svg onload="window.__xss=\'svg\'"></svg>',
  '<svg><script>window.__xss="svg-script"</script></svg>',
  '"><img src=x onerror=alert(1)>',
  "'><script>alert(2)</script>",
  '<iframe src="javascript:parent.__xss=\'iframe\'"></iframe>',
  '<iframe srcdoc="<script>parent.__xss=\'srcdoc\'</script>"></iframe>',
  '<a href="javascript:window.__xss=\'href\'">click me</a>',
  'javascript:window.__xss="bare-url"',
  '<body onload=alert(3)>',
  '<details open ontoggle="window.__xss=\'details\'">',
  '<input autofocus onfocus="window.__xss=\'focus\'">',
  '<video><source onerror="window.__xss=\'video\'"></video>',
  '<math><mtext><table><mglyph><style><img src=x onerror="window.__xss=\'mxss\'">',
  '<style>*{display:none!important}</style>',
  '<link rel=stylesheet href="data:text/css,*{display:none}">',
  '<meta http-equiv="refresh" content="0;url=javascript:alert(4)">',
  '<object data="javascript:alert(5)"></object>',
  '<embed src="javascript:alert(6)">',
  '<template><script>alert(7)</script></template>',
  '<!--?lit$1234567890$--><img src=x onerror=alert(8)>',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the payload is a literal template placeholder
  '${alert(9)}{{constructor.constructor("alert(10)")()}}',
  '</textarea><script>alert(11)</script>',
  '<div style="background:url(javascript:alert(12))">x</div>',
  '<form action="javascript:alert(13)"><button>go</button></form>',
  '&lt;script&gt;alert(14)&lt;/script&gt; &amp; &#60;b&#62;',
  '\u202egnp.exe',
  'zero\u200bwidth\u200djoiners\ufeff',
  `long${'A'.repeat(3000)}`,
];

/** Ids and titles go through the same renderers (sender names in groups, the conversation list). */
const HOSTILE_USER = '<img src=x onerror=alert(15)>';
const HOSTILE_TITLE = '<svg onload="window.__xss=\'title\'">Team</svg>';

let server: ServerProcess;

test.beforeEach(async () => {
  server = await ServerProcess.start();
});
test.afterEach(async () => {
  await server.dispose();
});

/** Sends frames over the short link as `user`; returns the replies after AUTH_OK. */
async function shortLink(user: string, frames: Uint8Array[]) {
  const body = Buffer.concat([
    frame(Op.AUTH, 1, { token: await devToken(server.url, user), device: 'xss' }),
    ...frames,
  ]);
  const res = await fetch(`${server.url}/link`, { method: 'POST', body });
  expect(res.status).toBe(200);
  return decodeFrames(new Uint8Array(await res.arrayBuffer())).filter((f) => f.seq > 1);
}

/** Records anything a payload could do once it ran. */
async function watchForExecution(page: Page): Promise<string[]> {
  const fired: string[] = [];
  page.on('dialog', (d) => {
    fired.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  await page.addInitScript(() => {
    Object.defineProperty(window, '__xss', {
      set(v) {
        (window as unknown as { __fired: unknown[] }).__fired.push(v);
      },
      get: () => undefined,
    });
    (window as unknown as { __fired: unknown[] }).__fired = [];
  });
  return fired;
}

test('an XSS corpus in message text, group titles and sender ids renders as inert, exact text in the widget', async ({
  browser,
}) => {
  // mallory creates a group with a hostile title and a hostile member id, and both send the corpus.
  const [created] = await shortLink('mallory', [
    frame(Op.CONV_CREATE, 2, { kind: ConvKind.Group, members: ['alice', HOSTILE_USER], title: HOSTILE_TITLE }),
  ]);
  expect(created?.op).toBe(Op.CONV);
  const conv = decodeBody(Op.CONV, created?.body as Uint8Array).conv.id;
  const sends = (prefix: string) =>
    CORPUS.map((text, i) =>
      frame(Op.SEND, i + 2, { cmid: `${prefix}-${i}`, conv, kind: MsgKind.Text, text: `${prefix}: ${text}` }),
    );
  for (const [user, prefix] of [
    ['mallory', 'm'],
    [HOSTILE_USER, 'h'],
  ] as const) {
    const acks = await shortLink(user, sends(prefix));
    expect(acks.map((f) => f.op)).toEqual(CORPUS.map(() => Op.SEND_ACK));
  }

  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  const page = await context.newPage();
  const fired = await watchForExecution(page);
  const errors: Error[] = [];
  page.on('pageerror', (e) => errors.push(e));
  await page.goto(`${server.url}/widget?user=alice`);

  const item = page.locator('synkey-chat').getByRole('button').filter({ hasText: 'Team' });
  await expect(item).toBeVisible();
  await expect(item).toContainText(HOSTILE_TITLE);
  await item.click();

  // The thread is virtualized: scroll from the newest message to the oldest, checking what renders.
  const seen = new Set<string>();
  const names = new Set<string>();
  const want = new Set(CORPUS.flatMap((t) => [`m: ${t}`, `h: ${t}`]));
  const scroller = page.locator('synkey-thread .scroll, synkey-thread [role="log"]').first();
  await expect(page.locator('synkey-thread .row').first()).toBeVisible();
  for (let round = 0; round < 200 && seen.size < want.size; round++) {
    const texts = await page
      .locator('synkey-thread .row .text')
      .evaluateAll((els) => els.map((e) => e.textContent ?? ''));
    for (const t of texts) if (want.has(t)) seen.add(t);
    for (const n of await page.locator('synkey-thread .row .name').allTextContents()) names.add(n);
    await scroller.evaluate((el) => el.scrollBy(0, -400));
    await page.waitForTimeout(50);
  }
  expect([...want].filter((t) => !seen.has(t))).toEqual([]);
  expect([...names].sort()).toEqual([HOSTILE_USER, 'mallory'].sort());

  // Nothing ran, and no hostile element or inline handler exists anywhere, shadow roots included.
  const injected = await page.evaluate(() => {
    const found: string[] = [];
    const walk = (root: Document | ShadowRoot) => {
      for (const el of root.querySelectorAll('*')) {
        if (el.closest('head')) continue;
        const tag = el.tagName.toLowerCase();
        if (['script', 'iframe', 'object', 'embed', 'math', 'meta', 'link', 'details', 'video'].includes(tag))
          found.push(tag);
        // The widget's own images (thumbnails) only ever load object URLs.
        if (tag === 'img' && !/^blob:/.test((el as HTMLImageElement).src))
          found.push(`img src=${el.getAttribute('src')}`);
        for (const attr of el.getAttributeNames()) {
          if (attr.startsWith('on') || attr === 'srcdoc') found.push(`${tag}[${attr}]`);
          if (/^\s*javascript:/i.test(el.getAttribute(attr) ?? '')) found.push(`${tag}[${attr}=javascript:]`);
        }
        if (el.shadowRoot) walk(el.shadowRoot);
      }
    };
    walk(document);
    return found;
  });
  expect(injected).toEqual([]);
  expect(await page.evaluate(() => (window as unknown as { __fired: unknown[] }).__fired)).toEqual([]);
  expect(fired).toEqual([]);
  expect(errors).toEqual([]);
  await context.close();
});
