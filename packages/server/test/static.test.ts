import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { type RunningServer, startServer, staticFiles } from '../src/index';

let dir: string;
let server: RunningServer;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'synkey-static-'));
  mkdirSync(join(dir, 'site'));
  writeFileSync(join(dir, 'site', 'index.html'), '<h1>home</h1>');
  writeFileSync(join(dir, 'site', 'embed.html'), '<h1>embed</h1>');
  mkdirSync(join(dir, 'site', 'chunks'));
  writeFileSync(join(dir, 'site', 'chunks', 'panel-Ab12Cd34.js'), 'export const x = 1;');
  writeFileSync(join(dir, 'site', 'synkey-main.js'), 'export {};');
  writeFileSync(join(dir, 'secret.txt'), 'do not serve');
  server = await startServer({ port: 0, secret: 's', extraRoutes: staticFiles(join(dir, 'site')), log: () => {} });
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A raw GET that does not normalise `..` the way fetch does. */
function rawGet(path: string): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type']) }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('serves index.html for / and page.html for /page with the right content type', async () => {
  const home = await rawGet('/');
  assert.equal(home.status, 200);
  assert.equal(home.body, '<h1>home</h1>');
  assert.match(home.type, /text\/html/);
  assert.equal((await rawGet('/embed')).body, '<h1>embed</h1>');
});

test('paths that climb out of the served directory are refused', async () => {
  for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/%00']) {
    const res = await rawGet(path);
    assert.equal(res.status, 404, path);
    assert.notEqual(res.body, 'do not serve');
  }
});

test('protocol routes still win over static files', async () => {
  assert.equal((await rawGet('/healthz')).status, 200);
});

test('answers 304 to a conditional GET of an unchanged file', async () => {
  const first = await fetch(`${server.url}/embed`);
  const modified = first.headers.get('last-modified');
  assert.ok(modified);
  const again = await fetch(`${server.url}/embed`, { headers: { 'if-modified-since': modified } });
  assert.equal(again.status, 304);
});

test('scripts can be imported as modules by pages of any origin; hashed chunks are cached for good, entries revalidated', async () => {
  const chunk = await fetch(`${server.url}/chunks/panel-Ab12Cd34.js`, { headers: { origin: 'https://shop.example' } });
  assert.equal(chunk.status, 200);
  assert.match(String(chunk.headers.get('content-type')), /text\/javascript/);
  assert.equal(chunk.headers.get('access-control-allow-origin'), '*');
  assert.match(String(chunk.headers.get('cache-control')), /immutable/);
  const entry = await fetch(`${server.url}/synkey-main.js`);
  assert.equal(entry.headers.get('access-control-allow-origin'), '*');
  assert.equal(entry.headers.get('cache-control'), 'no-cache');
  const modified = String(entry.headers.get('last-modified'));
  const again = await fetch(`${server.url}/synkey-main.js`, { headers: { 'if-modified-since': modified } });
  assert.equal(again.status, 304);
  assert.equal(again.headers.get('access-control-allow-origin'), '*');
});

/** A raw GET with an Accept-Encoding header, the body as bytes. */
function getEncoded(path: string, accept?: string): Promise<{ headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const headers = accept === undefined ? {} : { 'accept-encoding': accept };
    const req = request({ host: '127.0.0.1', port: server.port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('scripts go out brotli- or gzip-compressed as the request accepts, identical once decoded, and plain otherwise', async () => {
  const source = 'export const greeting = "hello from a chunk";\n'.repeat(100);
  writeFileSync(join(dir, 'site', 'chunks', 'big-Zz98Yy76.js'), source);
  const br = await getEncoded('/chunks/big-Zz98Yy76.js', 'gzip, deflate, br');
  assert.equal(br.headers['content-encoding'], 'br');
  assert.equal(br.headers.vary, 'accept-encoding');
  assert.equal(Number(br.headers['content-length']), br.body.length);
  assert.ok(br.body.length < source.length / 5);
  assert.equal(brotliDecompressSync(br.body).toString(), source);
  const gz = await getEncoded('/chunks/big-Zz98Yy76.js', 'gzip');
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.equal(gunzipSync(gz.body).toString(), source);
  const plain = await getEncoded('/chunks/big-Zz98Yy76.js');
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.equal(plain.body.toString(), source);
});
