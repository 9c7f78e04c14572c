import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CloseCode, decodeFrames, ErrorCode, frame, Op } from '@synkey/protocol';
import { mintToken, startServer } from '../src/index';
import { postLink, RawClient } from './raw-client';

let dir: string;
let cert: Buffer;
let key: Buffer;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'synkey-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  cert = readFileSync(join(dir, 'cert.pem'));
  key = readFileSync(join(dir, 'key.pem'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function postTls(url: string, body: Uint8Array): Promise<{ status: number; body: Uint8Array }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/link`, { method: 'POST', ca: cert }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: new Uint8Array(Buffer.concat(chunks)) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('given a certificate, the same port serves wss:// and https:// with a certificate made at test time', async () => {
  const server = await startServer({ port: 0, secret: 's', tls: { cert, key }, log: () => {} });
  try {
    assert.match(server.wsUrl, /^wss:\/\//);
    const { ok, client } = await RawClient.login(server.wsUrl, await mintToken('s', 'tls-alice'), 'd', { ca: cert });
    assert.equal(ok.user, 'tls-alice');
    client.close();
    const res = await postTls(server.url, frame(Op.AUTH, 1, { token: await mintToken('s', 'tls-bob'), device: 'd' }));
    assert.equal(res.status, 200);
    assert.equal(decodeFrames(res.body)[0]!.op, Op.AUTH_OK);
  } finally {
    await server.close();
  }
});

test('with requireTls a plain ws:// link is told to reconnect over wss://, and the short link is unaffected', async () => {
  const server = await startServer({
    port: 0,
    secret: 's',
    tls: { cert, key, port: 0 },
    requireTls: true,
    log: () => {},
  });
  try {
    const plain = await RawClient.open(server.wsUrl);
    const err = await plain.next((g) => g.op === Op.ERROR);
    assert.equal(err.body.code, ErrorCode.TlsRequired);
    assert.equal((await plain.closed).code, CloseCode.TlsRequired);
    const url = err.body.url as string;
    assert.match(url, /^wss:\/\/127\.0\.0\.1:\d+\/ws$/);
    const { ok, client } = await RawClient.login(url, await mintToken('s', 'tls-carol'), 'd', { ca: cert });
    assert.equal(ok.user, 'tls-carol');
    client.close();
    const short = await postLink(server.url, [
      frame(Op.AUTH, 1, { token: await mintToken('s', 'tls-dave'), device: 'd' }),
    ]);
    assert.equal(short.status, 200);
    assert.equal(short.got[0]!.op, Op.AUTH_OK);
  } finally {
    await server.close();
  }
});
