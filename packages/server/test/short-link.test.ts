import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { ConvKind, ErrorCode, frame, MsgKind, Op } from '@synkey/protocol';
import { mintToken, type RunningServer, startServer } from '../src/index';
import { postLink } from './raw-client';

const SECRET = 'short-link-secret';

describe('short link: a body refused for rate as a whole is HTTP 429 (PROTOCOL.md §8.3)', () => {
  let server: RunningServer;
  let conv: number;
  before(async () => {
    server = await startServer({ port: 0, secret: SECRET, rateLimit: { perSecond: 0.001, burst: 3 }, log: () => {} });
    conv = server.store.createConversation('rl-alice', { kind: ConvKind.Direct, members: ['rl-bob'] }).conv.id;
  });
  after(() => server.close());

  const sends = async (from: number, n: number) => [
    frame(Op.AUTH, 1, { token: await mintToken(SECRET, 'rl-alice'), device: 'h' }),
    ...Array.from({ length: n }, (_, i) =>
      frame(Op.SEND, i + 2, { cmid: `rl-${from + i}`, conv, kind: MsgKind.Text, text: `m${from + i}` }),
    ),
  ];

  test('some requests refused: 200 with their ERRORs in place; all refused: 429, Retry-After, one fatal ERROR', async () => {
    const partly = await postLink(server.url, await sends(0, 5));
    assert.equal(partly.status, 200);
    assert.deepEqual(
      partly.got.map((g) => g.op),
      [Op.AUTH_OK, Op.SEND_ACK, Op.SEND_ACK, Op.SEND_ACK, Op.ERROR, Op.ERROR],
    );
    assert.equal(partly.got[4]!.body.code, ErrorCode.RateLimited);
    assert.equal(partly.got[4]!.body.fatal, undefined);

    const res = await fetch(`${server.url}/link`, { method: 'POST', body: Buffer.concat(await sends(5, 2)) });
    assert.equal(res.status, 429);
    const retryAfter = Number(res.headers.get('retry-after'));
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1, `Retry-After: ${res.headers.get('retry-after')}`);
    const refused = await postLink(server.url, await sends(5, 2));
    assert.equal(refused.status, 429);
    assert.equal(refused.got.length, 1);
    const [err] = refused.got;
    assert.deepEqual([err!.op, err!.seq, err!.body.code, err!.body.fatal], [Op.ERROR, 0, ErrorCode.RateLimited, true]);
    assert.ok((err!.body.retryMs as number) > 0);
    const stored = server.store.history('rl-alice', { conv }).msgs.map((m) => m.cmid);
    assert.deepEqual(stored, ['rl-0', 'rl-1', 'rl-2'], 'nothing of a refused body is stored');
  });

  test('a body with only AUTH is never refused for rate', async () => {
    const { status, got } = await postLink(server.url, (await sends(0, 0)).slice(0, 1));
    assert.equal(status, 200);
    assert.equal(got[0]!.op, Op.AUTH_OK);
  });
});

describe('short link: keep-alive connections', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ port: 0, secret: SECRET, rateLimit: { perSecond: 1e6, burst: 1e6 }, log: () => {} });
  });
  after(() => server.close());

  /** POSTs `body` to /link over `agent`; resolves with the status, the Keep-Alive header and whether the socket was reused. */
  function post(agent: Agent, body: Buffer) {
    return new Promise<{ status: number; keepAlive: string; reused: boolean }>((resolve, reject) => {
      const req = request(
        `${server.url}/link`,
        { method: 'POST', agent, headers: { 'content-type': 'application/octet-stream' } },
        (res) => {
          res.resume();
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              keepAlive: String(res.headers['keep-alive']),
              reused: req.reusedSocket,
            }),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  test('an idle keep-alive connection outlives a client idle of several seconds (no server-side close race)', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const body = Buffer.concat([frame(Op.AUTH, 1, { token: await mintToken(SECRET, 'ka'), device: 'h' })]);
      const first = await post(agent, body);
      assert.equal(first.status, 200);
      assert.match(first.keepAlive, /timeout=(\d+)/);
      assert.ok(Number(/timeout=(\d+)/.exec(first.keepAlive)?.[1]) >= 60, `Keep-Alive: ${first.keepAlive}`);
      // Node's default server keep-alive timeout is 5 s: past it, the server would have closed the socket.
      await new Promise((r) => setTimeout(r, 5500));
      const second = await post(agent, body);
      assert.equal(second.status, 200);
      assert.equal(second.reused, true, 'the same connection is used again');
    } finally {
      agent.destroy();
    }
  });

  test('hammering /link with parallel keep-alive requests never resets a connection', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    try {
      const tokens = await Promise.all(Array.from({ length: 16 }, (_, i) => mintToken(SECRET, `ham-${i}`)));
      const worker = async (i: number) => {
        const body = Buffer.concat([
          frame(Op.AUTH, 1, { token: tokens[i]!, device: 'h' }),
          frame(Op.SYNC, 2, { epoch: 0, seq: 0 }),
          frame(Op.PING, 3, {}),
        ]);
        let reused = 0;
        for (let n = 0; n < 40; n++) {
          const r = await post(agent, body);
          assert.equal(r.status, 200);
          if (r.reused) reused++;
          if (n % 10 === 9) await new Promise((res) => setTimeout(res, 50 + i * 10));
        }
        return reused;
      };
      const reused = (await Promise.all(Array.from({ length: 16 }, (_, i) => worker(i)))).reduce((a, b) => a + b);
      assert.ok(reused >= 16 * 40 - 16, `${reused} of ${16 * 40} requests went over a reused connection`);
    } finally {
      agent.destroy();
    }
  });
});
