import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CloseCode, ConvKind, ErrorCode, encodeFrame, frame, HEADER_LEN, MsgKind, Op, VERSION } from '@synkey/protocol';
import { mintToken, type RunningServer, startServer } from '../src/index';
import { type Got, postLink, RawClient } from './raw-client';

let server: RunningServer;
const token = (user: string, ttlSeconds?: number) =>
  mintToken(server.secret, user, ttlSeconds === undefined ? {} : { ttlSeconds });

before(async () => {
  server = await startServer({ port: 0, secret: 'links-test-secret', log: () => {} });
});
after(() => server.close());

async function expectFatal(c: RawClient, code: string, closeCode: number) {
  const err = await c.next((g) => g.op === Op.ERROR && g.seq === 0);
  assert.equal(err.body.code, code);
  assert.equal(err.body.fatal, true);
  assert.equal((await c.closed).code, closeCode);
}

describe('long link: authentication', () => {
  test('AUTH_OK carries the user, the epoch and the heartbeat', async () => {
    const { client, ok } = await RawClient.login(server.wsUrl, await token('alice'));
    assert.equal(ok.user, 'alice');
    assert.equal(ok.epoch, server.store.epoch);
    assert.ok(ok.heartbeatMs > 0);
    client.close();
  });

  /** Sends AUTH and returns the fatal ERROR that answers it (seq 0, PROTOCOL.md §8.1) and the close code. */
  async function refusedAuth(authToken: string) {
    const c = await RawClient.open(server.wsUrl);
    c.sendRaw(frame(Op.AUTH, 7, { token: authToken, device: 'd' }));
    const err = await c.next((g) => g.op === Op.ERROR);
    return { err, close: (await c.closed).code };
  }

  test('a bad token is refused with a fatal UNAUTHENTICATED (seq 0) and close 4001', async () => {
    const { err, close } = await refusedAuth('not-a-token');
    assert.deepEqual([err.seq, err.body.code, err.body.fatal], [0, ErrorCode.Unauthenticated, true]);
    assert.equal(close, CloseCode.Unauthenticated);
  });

  test('a token signed with another secret is refused', async () => {
    const { err, close } = await refusedAuth(await mintToken('other-secret', 'mallory'));
    assert.deepEqual([err.seq, err.body.code, err.body.fatal], [0, ErrorCode.Unauthenticated, true]);
    assert.equal(close, CloseCode.Unauthenticated);
  });

  test('an expired token is refused with a fatal TOKEN_EXPIRED (seq 0) and close 4003', async () => {
    const { err, close } = await refusedAuth(await token('alice', -10));
    assert.deepEqual([err.seq, err.body.code, err.body.fatal], [0, ErrorCode.TokenExpired, true]);
    assert.equal(close, CloseCode.TokenExpired);
  });

  test('a request before AUTH closes the link with UNAUTHENTICATED', async () => {
    const c = await RawClient.open(server.wsUrl);
    c.sendRaw(frame(Op.CONV_LIST, 1, {}));
    await expectFatal(c, ErrorCode.Unauthenticated, CloseCode.Unauthenticated);
  });
});

describe('long link: bad input closes only the offending link', () => {
  const cases: [string, () => Uint8Array | string, string, number][] = [
    ['garbage bytes', () => new Uint8Array([0xde, 0xad, 0xbe, 0xef, 1, 2, 3]), ErrorCode.BadFrame, CloseCode.Protocol],
    [
      'a wrong version',
      () => {
        const f = frame(Op.PING, 1, {});
        new DataView(f.buffer).setUint16(6, VERSION + 7);
        return f;
      },
      ErrorCode.UnsupportedVersion,
      CloseCode.Protocol,
    ],
    [
      'a lying packLen',
      () => {
        const f = frame(Op.CONV_LIST, 1, {});
        new DataView(f.buffer).setUint32(0, 5000);
        return f;
      },
      ErrorCode.BadFrame,
      CloseCode.Protocol,
    ],
    [
      'an oversized frame',
      () => encodeFrame(Op.SEND, 1, new Uint8Array(300 * 1024)),
      ErrorCode.FrameTooLarge,
      CloseCode.TooLarge,
    ],
    [
      'a body that does not decode',
      () => encodeFrame(Op.SEND, 1, new Uint8Array([0xc1])),
      ErrorCode.BadBody,
      CloseCode.Protocol,
    ],
    ['a text message', () => 'hello', ErrorCode.BadFrame, CloseCode.Protocol],
  ];
  for (const [name, bytes, code, closeCode] of cases) {
    test(`${name} gets ${code} and close ${closeCode}; a bystander link keeps working`, async () => {
      const bystander = (await RawClient.login(server.wsUrl, await token('bystander'))).client;
      const { client } = await RawClient.login(server.wsUrl, await token('attacker'));
      client.ws.send(bytes());
      await expectFatal(client, code, closeCode);
      const pong = await bystander.request(Op.PING, {});
      assert.equal(pong.op, Op.PONG);
      bystander.close();
    });
  }

  test('an unknown op is refused with UNKNOWN_OP and the link stays open', async () => {
    const { client } = await RawClient.login(server.wsUrl, await token('alice'));
    client.sendRaw(encodeFrame(999, 42));
    const err = await client.next((g) => g.seq === 42);
    assert.equal(err.body.code, ErrorCode.UnknownOp);
    assert.equal((await client.request(Op.PING, {})).op, Op.PONG);
    client.close();
  });

  test('garbage before AUTH never creates a user or crashes the server', async () => {
    const c = await RawClient.open(server.wsUrl);
    c.sendRaw(new Uint8Array(HEADER_LEN).fill(0xff));
    await c.closed;
    const res = await fetch(`${server.url}/healthz`);
    assert.equal(res.status, 200);
  });
});

describe('long link: conversations and membership', () => {
  test('a non-member cannot send to, read, or page the history of a conversation', async () => {
    const alice = (await RawClient.login(server.wsUrl, await token('m-alice'))).client;
    const eve = (await RawClient.login(server.wsUrl, await token('m-eve'))).client;
    const created = await alice.request(Op.CONV_CREATE, { kind: ConvKind.Direct, members: ['m-bob'] });
    const conv = (created.body.conv as { id: number }).id;
    await alice.request(Op.SEND, { cmid: 'c1', conv, kind: MsgKind.Text, text: 'secret' });
    const send = await eve.request(Op.SEND, { cmid: 'e1', conv, kind: MsgKind.Text, text: 'hi' });
    assert.equal(send.body.code, ErrorCode.Forbidden);
    const hist = await eve.request(Op.HISTORY, { conv });
    assert.equal(hist.body.code, ErrorCode.Forbidden);
    const read = await eve.request(Op.READ, { conv, upTo: 1 });
    assert.equal(read.body.code, ErrorCode.Forbidden);
    const sync = await eve.request(Op.SYNC, { epoch: 0, seq: 0 });
    assert.equal(sync.op, Op.SYNC_REPLY);
    assert.equal(JSON.stringify(sync.body).includes('secret'), false);
    alice.close();
    eve.close();
  });
});

describe('long link: notify, sync, ack and receipts', () => {
  test('a batch of 50 sends yields one coalesced NOTIFY for the recipient', async () => {
    const a = (await RawClient.login(server.wsUrl, await token('n-alice'))).client;
    const b = (await RawClient.login(server.wsUrl, await token('n-bob'))).client;
    const conv = (
      (await a.request(Op.CONV_CREATE, { kind: ConvKind.Direct, members: ['n-bob'] })).body.conv as { id: number }
    ).id;
    await b.next((g) => g.op === Op.NOTIFY);
    const before = b.got.filter((g) => g.op === Op.NOTIFY).length;
    const seqs = a.sendMany(
      Op.SEND,
      Array.from({ length: 50 }, (_, i) => ({ cmid: `n${i}`, conv, kind: MsgKind.Text, text: `m${i}` })),
    );
    await a.next((g) => g.seq === seqs.at(-1));
    const notify = await b.next((g) => g.op === Op.NOTIFY && (g.body.seq as number) >= 51);
    assert.equal(notify.body.seq, 51);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(b.got.filter((g) => g.op === Op.NOTIFY).length - before, 1);
    a.close();
    b.close();
  });

  test("every server PING carries the user's newest SynKey, and it advances as new events reach the timeline", async () => {
    const fast = await startServer({ port: 0, secret: 's', heartbeatMs: 400, log: () => {} });
    try {
      const login = async (user: string) => (await RawClient.login(fast.wsUrl, await mintToken('s', user))).client;
      const b = await login('hb-bob');
      const a = await login('hb-alice');
      /** The next heartbeat PING `c` receives after those it has, answered with a PONG to keep the link up. */
      const nextPing = async (c: RawClient, pred: (g: Got) => boolean = () => true) => {
        const seen = new Set(c.got);
        const ping = await c.next((g) => !seen.has(g) && g.op === Op.PING && g.seq === 0 && pred(g));
        c.sendRaw(frame(Op.PONG, 0, {}));
        return ping.body;
      };
      assert.deepEqual(await nextPing(b), { epoch: fast.store.epoch, seq: 0 });

      const conv = (
        (await a.request(Op.CONV_CREATE, { kind: ConvKind.Direct, members: ['hb-bob'] })).body.conv as { id: number }
      ).id;
      for (const text of ['one', 'two', 'three']) {
        assert.equal((await a.request(Op.SEND, { cmid: text, conv, kind: MsgKind.Text, text })).op, Op.SEND_ACK);
      }
      const newest = fast.store.maxSeq('hb-bob');
      assert.equal(newest, 4, 'the conversation and three messages');
      assert.deepEqual(await nextPing(b, (g) => g.body.seq === newest), { epoch: fast.store.epoch, seq: newest });
      assert.deepEqual(await nextPing(a), { epoch: fast.store.epoch, seq: fast.store.maxSeq('hb-alice') });
      const pong = await b.request(Op.PING, {});
      assert.deepEqual([pong.op, pong.bytes], [Op.PONG, HEADER_LEN], "a client's empty PING gets an empty PONG");
      a.close();
      b.close();
    } finally {
      await fast.close();
    }
  });

  test('the sender gets a delivered receipt only after the recipient ACKs, and a read receipt after READ', async () => {
    const a = (await RawClient.login(server.wsUrl, await token('r-alice'))).client;
    const b = (await RawClient.login(server.wsUrl, await token('r-bob'))).client;
    const conv = (
      (await a.request(Op.CONV_CREATE, { kind: ConvKind.Direct, members: ['r-bob'] })).body.conv as { id: number }
    ).id;
    const ack = await a.request(Op.SEND, { cmid: 'r1', conv, kind: MsgKind.Text, text: 'hello bob' });
    assert.equal(ack.op, Op.SEND_ACK);
    assert.equal(ack.body.convSeq, 1);
    const aSync = async () => (await a.request(Op.SYNC, { epoch: server.store.epoch, seq: 0 })).body;
    const receipts = (body: Record<string, unknown>) =>
      (body.events as { receipt?: { kind: number; upTo: number; user: string } }[]).flatMap((e) =>
        e.receipt ? [e.receipt] : [],
      );
    assert.deepEqual(receipts(await aSync()), []);

    const bSync = (await b.request(Op.SYNC, { epoch: 0, seq: 0 })).body;
    const msg = (bSync.events as { msg?: { text: string; cmid?: string } }[]).find((e) => e.msg)?.msg;
    assert.equal(msg?.text, 'hello bob');
    assert.equal(msg?.cmid, undefined, 'the cmid is only sent to the sender');
    assert.deepEqual(receipts(await aSync()), [], 'no delivered receipt before the ACK');
    await b.next((g) => g.op === Op.NOTIFY);
    const okAck = await b.request(Op.ACK, { epoch: bSync.epoch as number, seq: bSync.seq as number });
    assert.equal(okAck.op, Op.OK);
    await a.next((g) => g.op === Op.NOTIFY && (g.body.seq as number) >= 3);
    assert.deepEqual(receipts(await aSync()), [{ conv, user: 'r-bob', kind: 1, upTo: 1 }]);

    assert.equal((await b.request(Op.READ, { conv, upTo: 1 })).op, Op.OK);
    const r = receipts(await aSync());
    assert.deepEqual(r.at(-1), { conv, user: 'r-bob', kind: 2, upTo: 1 });
    a.close();
    b.close();
  });

  test('the server answers PING and closes a link that stays silent past the heartbeat', async () => {
    const fast = await startServer({ port: 0, secret: 's', heartbeatMs: 100, log: () => {} });
    try {
      const { client } = await RawClient.login(fast.wsUrl, await mintToken('s', 'quiet'));
      assert.equal((await client.request(Op.PING, {})).op, Op.PONG);
      await client.next((g) => g.op === Op.PING && g.seq === 0);
      await expectFatal(client, ErrorCode.Timeout, CloseCode.HeartbeatTimeout);
    } finally {
      await fast.close();
    }
  });

  test('requests over the rate limit get RATE_LIMITED with retryMs, and sustained abuse closes the link', async () => {
    const tight = await startServer({ port: 0, secret: 's', rateLimit: { perSecond: 1, burst: 5 }, log: () => {} });
    try {
      const { client } = await RawClient.login(tight.wsUrl, await mintToken('s', 'spammer'));
      const seqs = client.sendMany(
        Op.CONV_LIST,
        Array.from({ length: 8 }, () => ({})),
      );
      const replies = await Promise.all(seqs.map((s) => client.next((g) => g.seq === s)));
      assert.equal(replies.filter((r) => r.op === Op.CONV_LIST_REPLY).length, 5);
      const limited = replies.filter((r) => r.op === Op.ERROR);
      assert.equal(limited.length, 3);
      for (const r of limited) {
        assert.equal(r.body.code, ErrorCode.RateLimited);
        assert.ok((r.body.retryMs as number) > 0);
      }
      for (let i = 0; i < 3; i++)
        client.sendMany(
          Op.CONV_LIST,
          Array.from({ length: 60 }, () => ({})),
        );
      await expectFatal(client, ErrorCode.RateLimited, CloseCode.RateLimited);
    } finally {
      await tight.close();
    }
  });
});

describe('short link', () => {
  test('answers AUTH_OK then each reply in order over one POST', async () => {
    const { status, got } = await postLink(server.url, [
      frame(Op.AUTH, 1, { token: await token('http-alice'), device: 'h1' }),
      frame(Op.CONV_CREATE, 2, { kind: ConvKind.Direct, members: ['http-bob'] }),
      frame(Op.CONV_LIST, 3, {}),
    ]);
    assert.equal(status, 200);
    assert.deepEqual(
      got.map((g) => [g.op, g.seq]),
      [
        [Op.AUTH_OK, 1],
        [Op.CONV, 2],
        [Op.CONV_LIST_REPLY, 3],
      ],
    );
  });

  test('a POLL is held until the timeline grows and then answered with NOTIFY', async () => {
    const bobToken = await token('poll-bob');
    const first = await postLink(server.url, [frame(Op.AUTH, 1, { token: bobToken, device: 'h' })]);
    const seq0 = first.got[0]!.body.seq as number;
    const epoch = first.got[0]!.body.epoch as number;
    const poll = postLink(server.url, [
      frame(Op.AUTH, 1, { token: bobToken, device: 'h' }),
      frame(Op.POLL, 2, { epoch, seq: seq0, waitMs: 10_000 }),
    ]);
    let answered = false;
    poll.then(() => {
      answered = true;
    });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(answered, false, 'the POLL waits while nothing happens');
    const { client } = await RawClient.login(server.wsUrl, await token('poll-alice'));
    await client.request(Op.CONV_CREATE, { kind: ConvKind.Direct, members: ['poll-bob'] });
    const { got } = await poll;
    assert.equal(got[1]!.op, Op.NOTIFY);
    assert.equal(got[1]!.seq, 2);
    assert.ok((got[1]!.body.seq as number) > seq0);
    client.close();
  });

  test('a POLL with waitMs 0 answers at once with the current seq', async () => {
    const { got } = await postLink(server.url, [
      frame(Op.AUTH, 1, { token: await token('poll-now'), device: 'h' }),
      frame(Op.POLL, 2, { epoch: server.store.epoch, seq: 0, waitMs: 0 }),
    ]);
    assert.equal(got[1]!.op, Op.NOTIFY);
  });

  test("a POLL whose wait runs out without news still names the user's newest SynKey", async () => {
    const { client } = await RawClient.login(server.wsUrl, await token('quiet-alice'));
    await client.request(Op.CONV_CREATE, { kind: ConvKind.Direct, members: ['quiet-bob'] });
    client.close();
    const newest = server.store.maxSeq('quiet-bob');
    assert.ok(newest > 0);
    const { got } = await postLink(server.url, [
      frame(Op.AUTH, 1, { token: await token('quiet-bob'), device: 'h' }),
      frame(Op.POLL, 2, { epoch: server.store.epoch, seq: newest, waitMs: 50 }),
    ]);
    assert.deepEqual(
      [got[1]!.op, got[1]!.seq, got[1]!.body],
      [Op.NOTIFY, 2, { epoch: server.store.epoch, seq: newest }],
    );
  });

  test('bad token → 401, garbage → 400, oversized → 413, each with an ERROR frame', async () => {
    const bad = await postLink(server.url, [frame(Op.AUTH, 1, { token: 'x', device: 'h' })]);
    assert.equal(bad.status, 401);
    assert.equal(bad.got[0]!.body.code, ErrorCode.Unauthenticated);
    const garbage = await postLink(server.url, [new Uint8Array([1, 2, 3, 4, 5])]);
    assert.equal(garbage.status, 400);
    assert.equal(garbage.got[0]!.body.code, ErrorCode.BadFrame);
    const big = await postLink(server.url, [encodeFrame(Op.SEND, 1, new Uint8Array(300 * 1024))]);
    assert.equal(big.status, 413);
    assert.equal(big.got[0]!.body.code, ErrorCode.FrameTooLarge);
  });

  test('CORS preflight is answered for any origin', async () => {
    const res = await fetch(`${server.url}/link`, { method: 'OPTIONS', headers: { origin: 'https://site.example' } });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
  });
});

describe('dev endpoints', () => {
  test('/dev/token exists only in dev mode and mints a working token', async () => {
    assert.equal((await fetch(`${server.url}/dev/token?user=zed`)).status, 404);
    const dev = await startServer({ port: 0, dev: true, log: () => {} });
    try {
      const res = await fetch(`${dev.url}/dev/token?user=zed`);
      const { token: t } = (await res.json()) as { token: string };
      const { ok, client } = await RawClient.login(dev.wsUrl, t);
      assert.equal(ok.user, 'zed');
      client.close();
      assert.equal((await fetch(`${dev.url}/dev/token?user=`)).status, 400);
    } finally {
      await dev.close();
    }
  });

  test('/dev/connections counts the long links of a user and POST /dev/kick closes them (dev mode only)', async () => {
    assert.equal((await fetch(`${server.url}/dev/connections?user=kicked`)).status, 404);
    const dev = await startServer({ port: 0, dev: true, log: () => {} });
    try {
      const t = ((await (await fetch(`${dev.url}/dev/token?user=kicked`)).json()) as { token: string }).token;
      const a = (await RawClient.login(dev.wsUrl, t, 'd1')).client;
      const b = (await RawClient.login(dev.wsUrl, t, 'd2')).client;
      const count = async () =>
        ((await (await fetch(`${dev.url}/dev/connections?user=kicked`)).json()) as { connections: number }).connections;
      assert.equal(await count(), 2);
      const res = (await (await fetch(`${dev.url}/dev/kick?user=kicked`, { method: 'POST' })).json()) as {
        kicked: number;
      };
      assert.equal(res.kicked, 2);
      assert.equal((await a.closed).code, CloseCode.GoingAway);
      await b.closed;
      assert.equal(await count(), 0);
    } finally {
      await dev.close();
    }
  });

  test('a production server refuses to start without a secret', async () => {
    const saved = process.env.SYNKEY_SECRET;
    delete process.env.SYNKEY_SECRET;
    try {
      await assert.rejects(startServer({ port: 0 }), /secret/);
    } finally {
      if (saved !== undefined) process.env.SYNKEY_SECRET = saved;
    }
  });
});
