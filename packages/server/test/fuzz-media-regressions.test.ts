// Regressions the media fuzzer found, each reproduced on its own against a real server.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { frame, Op } from '@synkey/protocol';
import { mintToken, type RunningServer, startServer } from '../src/index';
import { MediaApi, sha256 } from './media-client';
import { postLink } from './raw-client';

let server: RunningServer;
let api: MediaApi;
const logged: string[] = [];

before(async () => {
  server = await startServer({
    port: 0,
    secret: 'fuzz-media-regressions-secret',
    log: (msg, err) => logged.push(`${msg} ${err instanceof Error ? err.message : String(err ?? '')}`),
  });
  api = new MediaApi(server.url, await mintToken(server.secret, 'alice'));
});
after(() => server.close());

/** Sends the headers and the first `sent` of `declared` body bytes, then hangs up. */
function hangUp(path: string, method: string, declared: number, sent: Uint8Array): Promise<void> {
  const url = new URL(server.url);
  logged.length = 0;
  return new Promise((resolve) => {
    const req = request({
      host: url.hostname,
      port: url.port,
      method,
      path,
      agent: false,
      headers: { authorization: `Bearer ${api.token}`, 'content-length': String(declared) },
    });
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    req.write(sent, () => setTimeout(() => req.destroy(), 20));
  });
}

describe('a client hanging up in the middle of a body', () => {
  test('a chunk cut off mid-body is not held, and the server logs no internal error', async () => {
    const file = Buffer.alloc(100_000, 7);
    const opened = await api.req('POST', '/media/uploads', {
      size: file.length,
      sha256: sha256(file),
      chunkSize: 65_536,
    });
    const upload = opened.json.upload as string;
    await hangUp(`/media/uploads/${upload}/0`, 'PUT', 65_536, file.subarray(0, 30_000));
    await hangUp('/media/uploads', 'POST', 300, Buffer.from('{"size": 10, "sha256": "'));
    const status = await api.req('GET', `/media/uploads/${upload}`);
    assert.deepEqual(status.json.have, []);
    assert.deepEqual(logged, []);
  });

  test('a short-link body cut off mid-way is dropped without an internal error', async () => {
    const auth = frame(Op.AUTH, 1, { token: api.token, device: 'd1' });
    await hangUp('/link', 'POST', auth.length + 100, auth);
    assert.deepEqual(logged, []);
    const ok = await postLink(server.url, [auth]);
    assert.equal(ok.status, 200);
  });
});
