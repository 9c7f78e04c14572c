import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { secretKey, verifyToken } from '../src/auth';
import { type RunningServer, startServer } from '../src/index';
import {
  originAt,
  type RunningSite,
  redirectToSite,
  renderSitePage,
  siteCsp,
  siteUser,
  startSite,
} from '../src/site-server';

let dir: string;
let chat: RunningServer;
let site: RunningSite;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'synkey-site-'));
  writeFileSync(
    join(dir, 'embed.html'),
    '<script src="__SYNKEY_CHAT__/synkey.js" data-server="__SYNKEY_CHAT__" data-token-url="/api/chat-token?user=__SYNKEY_USER__"></script>',
  );
  chat = await startServer({ port: 0, dev: true, secret: 'site-test-secret', log: () => {} });
  site = await startSite({
    port: 0,
    host: '127.0.0.1',
    root: dir,
    chatUrl: chat.url,
    chatPort: chat.port,
    log: () => {},
  });
});
after(async () => {
  await site.close();
  await chat.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the site serves embed.html with the chat origin and the user filled in, under a CSP naming the chat origin', async () => {
  const res = await fetch(`${site.url}/embed.html?user=bob`);
  assert.equal(res.status, 200);
  const chatOrigin = `http://127.0.0.1:${chat.port}`;
  assert.equal(
    await res.text(),
    `<script src="${chatOrigin}/synkey.js" data-server="${chatOrigin}" data-token-url="/api/chat-token?user=bob"></script>`,
  );
  const csp = res.headers.get('content-security-policy') ?? '';
  assert.match(csp, new RegExp(`script-src 'self' ${chatOrigin}(;|$)`));
  assert.match(csp, new RegExp(`connect-src 'self' ${chatOrigin} ws://127.0.0.1:${chat.port}(;|$)`));
  assert.match(csp, /worker-src blob:(;|$)/);
  assert.match(csp, /img-src 'self' blob: data:/);
  assert.match(csp, /media-src 'self' blob:/);
  assert.equal(res.headers.get('cache-control'), 'no-store');
});

test('the chat origin follows the host name the browser used', async () => {
  // fetch() may not set Host: a raw request does, as a browser that reached the site as localhost would.
  const html = await new Promise<string>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: site.port, path: '/embed.html', headers: { host: `localhost:${site.port}` } },
      (res) => {
        let body = '';
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve(body));
      },
    );
    req.on('error', reject);
    req.end();
  });
  assert.match(html, new RegExp(`src="http://localhost:${chat.port}/synkey.js"`));
  assert.match(html, /user=visitor"/, 'without ?user= the page signs in as the default user');
});

test('the token endpoint plays the site backend: it answers a token for the user from the chat server', async () => {
  const res = await fetch(`${site.url}/api/chat-token?user=carol`);
  assert.equal(res.status, 200);
  const { token } = (await res.json()) as { token: string };
  assert.equal((await verifyToken(secretKey(chat.secret), token)).user, 'carol');
});

test('a user name that could break out of the page is refused, and unknown paths are 404', async () => {
  for (const user of ['"><script>', 'a b', 'x'.repeat(65)]) {
    assert.equal((await fetch(`${site.url}/embed.html?user=${encodeURIComponent(user)}`)).status, 400, user);
    assert.equal((await fetch(`${site.url}/api/chat-token?user=${encodeURIComponent(user)}`)).status, 400, user);
  }
  assert.equal((await fetch(`${site.url}/secret.txt`)).status, 404);
  assert.equal((await fetch(`${site.url}/embed.html`, { method: 'POST' })).status, 405);
});

test('the chat server redirects /embed.html to the site, keeping the query', async () => {
  const route = redirectToSite(() => site.port);
  const server = createServer((req, res) => {
    void route(req, res).then((done) => done || res.writeHead(404).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const port = (server.address() as AddressInfo).port;
    const res = await fetch(`http://127.0.0.1:${port}/embed.html?user=bob`, { redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), `http://127.0.0.1:${site.port}/embed.html?user=bob`);
    assert.equal((await fetch(`http://127.0.0.1:${port}/other`)).status, 404);
  } finally {
    server.close();
  }
});

test('pure helpers: user names, origins, the CSP and placeholders', () => {
  assert.equal(siteUser(null), 'visitor');
  assert.equal(siteUser('a.b-c_1'), 'a.b-c_1');
  assert.equal(siteUser('<x>'), undefined);
  assert.equal(originAt('example.com:8788', 8787), 'http://example.com:8787');
  assert.equal(originAt('[::1]:8788', 8787, true), 'https://[::1]:8787');
  assert.equal(originAt(undefined, 1), 'http://127.0.0.1:1');
  assert.match(
    siteCsp('https://chat.example.com'),
    /connect-src 'self' https:\/\/chat\.example\.com wss:\/\/chat\.example\.com/,
  );
  assert.equal(renderSitePage('__SYNKEY_CHAT__|__SYNKEY_USER__|__SYNKEY_CHAT__', 'C', 'U'), 'C|U|C');
});
