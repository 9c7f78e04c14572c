import { createHash } from 'node:crypto';
import { expect, type Page, test } from '@playwright/test';
import { ConvKind, decodeBody, decodeFrames, frame, MsgKind, Op } from '@synkey/protocol';
import sharp from 'sharp';
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

/** Elements and attributes a payload could have injected, in the document and every shadow root. */
function injectedElements(page: Page): Promise<string[]> {
  return page.evaluate(() => {
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
  expect(await injectedElements(page)).toEqual([]);
  expect(await page.evaluate(() => (window as unknown as { __fired: unknown[] }).__fired)).toEqual([]);
  expect(fired).toEqual([]);
  expect(errors).toEqual([]);
  await context.close();
});

/** Uploads `bytes` as `user` through the chunked upload API; returns the media id and the name the server kept. */
async function upload(user: string, bytes: Buffer, name: string): Promise<{ id: string; name?: string }> {
  const auth = { authorization: `Bearer ${await devToken(server.url, user)}` };
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const created = await fetch(`${server.url}/media/uploads`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ size: bytes.length, sha256, name, mime: 'image/png' }),
  });
  const init = (await created.json()) as { upload: string; chunkSize: number; chunks: number };
  expect(created.status).toBe(201);
  for (let i = 0; i < init.chunks; i++) {
    const chunk = bytes.subarray(i * init.chunkSize, (i + 1) * init.chunkSize);
    const put = await fetch(`${server.url}/media/uploads/${init.upload}/${i}`, {
      method: 'PUT',
      headers: auth,
      body: new Uint8Array(chunk),
    });
    expect(put.status).toBe(204);
  }
  const done = await fetch(`${server.url}/media/uploads/${init.upload}/complete`, { method: 'POST', headers: auth });
  expect(done.status).toBe(200);
  return ((await done.json()) as { media: { id: string; name?: string } }).media;
}

test('hostile file names and captions of images render as inert, exact text (bubble label, viewer, conversation list)', async ({
  browser,
}) => {
  const NAMES = [
    '"><img src=x onerror="window.__xss=\'name\'">.png',
    "<svg onload=alert('name')>.png",
    'javascript:alert(1)//.png',
    '<script>window.__xss="name-script"</script>.png',
  ];
  const [created] = await shortLink('mallory', [
    frame(Op.CONV_CREATE, 2, { kind: ConvKind.Direct, members: ['alice'] }),
  ]);
  const conv = decodeBody(Op.CONV, created?.body as Uint8Array).conv.id;
  const sends: Uint8Array[] = [];
  // The server keeps only the last path segment of a name (`a/b.png` → `b.png`): what the widget shows.
  const shown: string[] = [];
  for (const [i, name] of NAMES.entries()) {
    const png = await sharp({ create: { width: 64 + i, height: 32, channels: 3, background: '#336699' } })
      .png()
      .toBuffer();
    const media = await upload('mallory', png, name);
    shown.push(media.name ?? '');
    sends.push(
      frame(Op.SEND, i + 2, { cmid: `img-${i}`, conv, kind: MsgKind.Image, media: media.id, text: CORPUS[i] }),
    );
  }
  const acks = await shortLink('mallory', sends);
  expect(acks.map((f) => f.op)).toEqual(NAMES.map(() => Op.SEND_ACK));

  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  const fired = await watchForExecution(page);
  const errors: Error[] = [];
  page.on('pageerror', (e) => errors.push(e));
  await page.goto(`${server.url}/widget?user=alice&peer=mallory`);

  expect(shown.filter((n) => n.includes('<')).length).toBeGreaterThan(1);
  for (const name of shown) {
    const view = page.getByRole('button', { name: `View ${name}` });
    await expect(view).toBeVisible();
    await view.click();
    const viewer = page.getByRole('dialog', { name });
    await expect(viewer).toBeVisible();
    await expect(viewer.getByRole('img', { name })).toBeVisible();
    await page.keyboard.press('Escape');
    await expect(viewer).toHaveCount(0);
  }
  for (const caption of CORPUS.slice(0, NAMES.length))
    await expect(page.locator('synkey-thread .row .text').filter({ hasText: caption })).toHaveCount(1);

  expect(await injectedElements(page)).toEqual([]);
  expect(await page.evaluate(() => (window as unknown as { __fired: unknown[] }).__fired)).toEqual([]);
  expect(fired).toEqual([]);
  expect(errors).toEqual([]);
  await context.close();
});
