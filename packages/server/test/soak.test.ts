// The chaos soak's short run (the long one is `npm run soak`): 200 real SDK engines send through a
// fault-injecting proxy while the server is killed with SIGKILL and restarted; nothing may be lost,
// duplicated or reordered. SOAK_SEED=N repeats a run; the report is printed either way. Before it, the
// parts the soak relies on are proven on their own: the proxy's WebSocket framing, each fault over
// real sockets, and the checks (which must see a lost, a duplicated and a reordered message).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, describe, test } from 'node:test';
import fc from 'fast-check';
import WebSocket, { WebSocketServer } from 'ws';
import { type ClientView, checkDatabase, checkDeliveries, type DbRows, type SentRecord } from './soak-check';
import { FAULT_KINDS, type FaultPlan, FaultProxy, NO_FAULTS } from './soak-proxy';
import { formatReport, runSoak, SOAK_FAULTS, type SoakReport } from './soak-run';
import { keyOf, messageText } from './soak-world';
import { WsFrameReader, type WsUnit } from './soak-ws';

/** One WebSocket frame as RFC 6455 lays it out, masked with `mask` when given. */
function wsFrame(opcode: number, payload: Buffer, opts: { fin?: boolean; mask?: Buffer } = {}): Buffer {
  const len = payload.length;
  const head = len < 126 ? Buffer.alloc(2) : len < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = (opts.fin === false ? 0 : 0x80) | opcode;
  if (len < 126) head[1] = len;
  else if (len < 65536) {
    head[1] = 126;
    head.writeUInt16BE(len, 2);
  } else {
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  if (!opts.mask) return Buffer.concat([head, payload]);
  head[1] = (head[1] as number) | 0x80;
  const body = Buffer.from(payload.map((b, i) => b ^ (opts.mask as Buffer)[i & 3]!));
  return Buffer.concat([head, opts.mask, body]);
}

/** Feeds `bytes` to a reader in the given chunk sizes (cycled). */
function readAll(bytes: Buffer, masked: boolean, sizes: number[]): WsUnit[] {
  const reader = new WsFrameReader(masked);
  const out: WsUnit[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = Math.max(1, sizes[i % sizes.length] ?? 1);
    out.push(...reader.push(bytes.subarray(at, at + n)));
    at += n;
  }
  return out;
}

const summary = (units: WsUnit[]) =>
  units.map((u) => (u.kind === 'message' ? `${u.opcode}:${u.payload.toString()}/${u.fragments}` : `${u.kind}`));

describe('the soak proxy reads WebSocket framing', () => {
  const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const big = Buffer.alloc(70_000, 'x');
  const stream = (m?: Buffer) =>
    Buffer.concat([
      wsFrame(2, Buffer.from('one'), { mask: m }),
      wsFrame(2, Buffer.from('tw'), { fin: false, mask: m }),
      wsFrame(9, Buffer.from('ping'), { mask: m }),
      wsFrame(0, Buffer.from('o-'), { fin: false, mask: m }),
      wsFrame(0, Buffer.from('two'), { mask: m }),
      wsFrame(1, Buffer.alloc(300, 'm'), { mask: m }),
      wsFrame(2, big, { mask: m }),
      wsFrame(8, Buffer.from([0x03, 0xe8]), { mask: m }),
    ]);
  const want = ['2:one/1', 'control', '2:two-two/3', `1:${'m'.repeat(300)}/1`, `2:${big.toString()}/1`, 'control'];

  test('masked client frames and unmasked server frames: whole messages across fragments, pings between them, any chunking', () => {
    for (const [bytes, masked] of [
      [stream(mask), true],
      [stream(), false],
    ] as const) {
      assert.deepEqual(summary(readAll(bytes, masked, [bytes.length])), want);
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 20 }), (sizes) => {
          const units = readAll(bytes, masked, sizes);
          assert.deepEqual(summary(units), want);
          // Nothing is lost or altered: the bytes out are the bytes in (the ping, sent between two
          // fragments, comes out ahead of the message it interrupted).
          assert.equal(Buffer.concat(units.map((u) => u.bytes)).length, bytes.length);
        }),
        { numRuns: 60 },
      );
    }
  });

  test('a stream that breaks the framing rules is passed through byte for byte, from the frame that broke them', () => {
    const cases = [
      // unmasked frame where masked ones are due
      Buffer.concat([wsFrame(2, Buffer.from('ok'), { mask }), wsFrame(2, Buffer.from('bare')), Buffer.from('tail')]),
      // a continuation with no message to continue
      Buffer.concat([wsFrame(2, Buffer.from('ok'), { mask }), wsFrame(0, Buffer.from('cont'), { mask })]),
      // a fragmented ping, and a reserved opcode
      Buffer.concat([wsFrame(2, Buffer.from('ok'), { mask }), wsFrame(9, Buffer.from('p'), { fin: false, mask })]),
      Buffer.concat([wsFrame(2, Buffer.from('ok'), { mask }), wsFrame(3, Buffer.from('r'), { mask })]),
    ];
    for (const bytes of cases) {
      for (const sizes of [[bytes.length], [1], [3, 7]]) {
        const units = readAll(bytes, true, sizes);
        assert.deepEqual(summary(units.slice(0, 1)), ['2:ok/1']);
        assert.ok(units.slice(1).every((u) => u.kind === 'raw'));
        assert.deepEqual(Buffer.concat(units.map((u) => u.bytes)), bytes);
      }
    }
  });
});

describe('the soak proxy injects each fault over real sockets', () => {
  let wss: WebSocketServer;
  let upstreamPort: number;
  const received: string[] = [];
  let pings = 0;

  before(async () => {
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await once(wss, 'listening');
    upstreamPort = (wss.address() as AddressInfo).port;
    wss.on('connection', (ws) => {
      ws.on('message', (data: Buffer) => {
        received.push(data.toString());
        ws.send(`echo ${data.toString()}`);
      });
      ws.on('ping', () => pings++);
      ws.on('error', () => {});
    });
  });
  after(() => new Promise<void>((r) => wss.close(() => r())));
  const proxies: FaultProxy[] = [];
  afterEach(async () => {
    await Promise.all(proxies.splice(0).map((p) => p.close()));
  });

  /** Opens a WebSocket through a proxy with `plan`; collects what comes back and how it closed. */
  async function through(plan: Partial<FaultPlan>) {
    received.length = 0;
    pings = 0;
    const proxy = await FaultProxy.start({ seed: 7, upstreamPort, plan: { ...NO_FAULTS, ...plan } });
    proxies.push(proxy);
    const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/ws`);
    const echoes: string[] = [];
    ws.on('message', (d: Buffer) => echoes.push(d.toString()));
    ws.on('error', () => {});
    const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    return { proxy, ws, echoes, closed };
  }

  /** Waits until `done()` holds (the faults delay things by a random amount); the assertions that follow decide. */
  const until = async (done: () => boolean) => {
    for (const deadline = Date.now() + 10_000; !done() && Date.now() < deadline; )
      await new Promise((r) => setTimeout(r, 20));
  };

  test('WebSocket-aware mode duplicates whole fragmented messages both ways, with delays and stalls, and keeps control frames and order', async () => {
    const { proxy, ws, echoes, closed } = await through({
      wsAware: 1,
      wsDup: 1,
      delay: 0.5,
      delayMs: [1, 20],
      stall: 0.3,
      stallMs: [50, 150],
    });
    await once(ws, 'open');
    ws.send('a');
    ws.send('b-', { fin: false });
    ws.ping();
    ws.send('part', { fin: true });
    ws.send('c');
    await until(() => echoes.length >= 12);
    // The close goes after everything sent, and its answer after every echo: what arrived is all there is.
    ws.close(1000);
    assert.equal(await closed, 1000);
    assert.deepEqual(received, ['a', 'a', 'b-part', 'b-part', 'c', 'c']);
    assert.deepEqual(
      echoes,
      ['a', 'a', 'a', 'a', 'b-part', 'b-part', 'b-part', 'b-part', 'c', 'c', 'c', 'c'].map((t) => `echo ${t}`),
    );
    assert.equal(pings, 1);
    assert.equal(proxy.stats.wsAware, 1);
    assert.equal(proxy.stats.faults.wsDup, 3 + 6);
    assert.ok(proxy.stats.faults.delay > 0 && proxy.stats.faults.stall > 0);
  });

  test('WebSocket-aware mode drops whole messages, but never a ping or the close', async () => {
    const { proxy, ws, echoes, closed } = await through({ wsAware: 1, wsDrop: 1 });
    await once(ws, 'open');
    ws.send('x', { fin: false });
    ws.ping();
    ws.send('y', { fin: true });
    ws.send('z');
    ws.close(1000);
    assert.equal(await closed, 1000);
    assert.deepEqual(received, []);
    assert.deepEqual(echoes, []);
    assert.equal(pings, 1);
    assert.equal(proxy.stats.faults.wsDrop, 2);
  });

  test('a reset cuts a frame short and both ends see the connection die', async () => {
    // The upgrade takes a few hundred bytes each way; the mark falls inside the 2000-byte message.
    const { proxy, ws, closed } = await through({ reset: 1, resetAfterBytes: [900, 900] });
    await once(ws, 'open');
    ws.send(Buffer.alloc(2000, 1));
    assert.equal(await closed, 1006);
    assert.deepEqual(received, []);
    assert.equal(proxy.stats.faults.reset, 1);
  });

  test('a dropped connection closes both ends', async () => {
    const { proxy, ws, closed } = await through({ drop: 1, dropAfterMs: [100, 100] });
    await once(ws, 'open');
    assert.equal(await closed, 1006);
    assert.equal(proxy.stats.faults.drop, 1);
  });

  test('with faults off the proxy forwards everything untouched, and a connection to a server that is down is closed', async () => {
    const { proxy, ws, echoes, closed } = await through({ ...SOAK_FAULTS, wsAware: 1, wsDrop: 1 });
    proxy.setFaults(false);
    await once(ws, 'open');
    ws.send('kept');
    await until(() => echoes.length >= 1);
    ws.close(1000);
    assert.equal(await closed, 1000);
    assert.deepEqual(echoes, ['echo kept']);
    assert.deepEqual(proxy.stats.faults, { delay: 0, stall: 0, drop: 0, reset: 0, wsDrop: 0, wsDup: 0 });

    const nowhere = await FaultProxy.start({ seed: 1, upstreamPort: 1, plan: NO_FAULTS });
    proxies.push(nowhere);
    const refused = new WebSocket(`ws://127.0.0.1:${nowhere.port}/ws`);
    refused.on('error', () => {});
    assert.equal(await new Promise((r) => refused.on('close', r)), 1006);
    assert.equal(nowhere.stats.upstreamRefused, 1);
  });
});

describe('the soak checks see what went wrong', () => {
  const sent = (sender: number, conv: number, n: number, acked: boolean, cmid = `c${sender}-${n}`): SentRecord => {
    const key = { sender, conv, n };
    return { key, text: messageText(key, n % 3), cmid, acked, failures: 0, retries: 0 };
  };
  const stored = (records: SentRecord[]) =>
    records.map((r, i) => ({ id: 100 + i, convSeq: i + 1, sender: `sk${r.key.sender}`, text: r.text }));
  const view = (index: number, list: ReturnType<typeof stored>, outbox: ClientView['outbox'] = []): ClientView => ({
    index,
    messages: new Map([[1, list]]),
    outbox,
    liveDuplicates: [],
    liveReorders: [],
  });
  const members = new Map([[1, [0, 1, 2]]]);

  test('every member holding every message once, in order, passes; an unacked one still in the outbox is allowed', () => {
    const a = [sent(0, 1, 1, true), sent(0, 1, 2, true), sent(1, 1, 1, true)];
    const pending = sent(0, 1, 3, false);
    const v = checkDeliveries([...a, pending], members, [
      view(0, stored(a), [{ cmid: pending.cmid, conv: 1, state: 'failed' }]),
      view(1, stored(a)),
      view(2, stored(a)),
    ]);
    assert.deepEqual(v.violations, []);
    assert.deepEqual(
      { lost: v.lost, duplicated: v.duplicated, reordered: v.reordered, delivered: v.delivered, pending: v.pending },
      { lost: 0, duplicated: 0, reordered: 0, delivered: 6, pending: 1 },
    );
  });

  test('a lost, a duplicated and a reordered message are counted, and so is an unacked one that vanished', () => {
    const [m1, m2, m3] = [sent(0, 1, 1, true), sent(0, 1, 2, true), sent(0, 1, 3, false)];
    const v = checkDeliveries([m1, m2, m3] as SentRecord[], members, [
      view(0, stored([m1, m2] as SentRecord[])),
      view(1, stored([m2, m1] as SentRecord[])), // reordered
      view(2, stored([m1, m2, m2] as SentRecord[])), // duplicated
    ]);
    assert.equal(v.reordered, 1);
    assert.equal(v.duplicated, 1);
    // m3: never acked, not in the outbox, held by no one: lost for both other members and the sender
    assert.equal(v.lost, 3);
    const w = checkDeliveries([m1, m2] as SentRecord[], members, [
      view(0, stored([m1, m2] as SentRecord[])),
      view(1, stored([m1] as SentRecord[])),
      { ...view(2, stored([m1, m2] as SentRecord[])), liveDuplicates: [keyOf(m2!.key)] },
    ]);
    assert.equal(w.lost, 1);
    assert.equal(w.duplicated, 1);
  });

  test('the database check finds a timeline gap, a twice-stored text, a missing acked message and a missing timeline event', () => {
    const [m1, m2] = [sent(0, 1, 1, true), sent(0, 1, 2, true)];
    const good: DbRows = {
      integrity: 'ok',
      users: ['sk0', 'sk1', 'sk2'].map((id) => ({ id, timeline_seq: 2 })),
      timeline: ['sk0', 'sk1', 'sk2'].flatMap((u) => [
        { user_id: u, seq: 1, kind: 1, msg_id: 1 },
        { user_id: u, seq: 2, kind: 1, msg_id: 2 },
      ]),
      messages: [m1, m2].map((m, i) => ({
        id: i + 1,
        conv_id: 1,
        conv_seq: i + 1,
        sender: 'sk0',
        cmid: (m as SentRecord).cmid,
        text: (m as SentRecord).text,
      })),
      conversations: [{ id: 1, last_seq: 2 }],
      members: ['sk0', 'sk1', 'sk2'].map((user_id) => ({ conv_id: 1, user_id })),
    };
    assert.deepEqual(checkDatabase(good, [m1, m2] as SentRecord[]).violations, []);
    const bad: DbRows = {
      ...good,
      timeline: good.timeline.filter((e) => !(e.user_id === 'sk2' && e.seq === 1)),
      messages: [good.messages[0]!, { ...good.messages[0]!, id: 3, conv_seq: 2, cmid: 'another' }],
    };
    const found = checkDatabase(bad, [m1, m2] as SentRecord[]).violations.join('\n');
    assert.match(found, /timeline of sk2/);
    assert.match(found, /twice \(under another cmid\)/);
    assert.match(found, /was acked but is not stored/);
    assert.match(found, /was never sent/);
    assert.match(found, /message 1 is on 2 timelines/);
  });
});

const seed = Number(process.env.SOAK_SEED ?? 20_251_201);

describe(`chaos soak: 200 engines, faults and SIGKILL restarts (seed ${seed})`, () => {
  let report: SoakReport;

  before(
    async () => {
      report = await runSoak({
        seed,
        clients: 200,
        messages: 2000,
        kills: 2,
        sendMs: 16_000,
        httpShare: 0.15,
        autoShare: 0.05,
        plan: SOAK_FAULTS,
        downMs: [0, 1000],
        // Reconnects at most 3 s apart rather than 20 s, so that engines spend this short run connected
        // and facing faults rather than waiting out a backoff; every other policy is the SDK's default.
        reconnect: { minMs: 250, maxMs: 3000 },
        // Bounded so that the whole file stays within the test runner's timeout on a busy machine.
        drainMs: 45_000,
        quietMs: 5000,
      });
      console.log(formatReport(report));
    },
    { timeout: 400_000 },
  );

  test('nothing is lost, duplicated or reordered: every acked message reached every member exactly once, in order', () => {
    const d = report.delivery;
    assert.ok(d);
    assert.equal(d.lost, 0);
    assert.equal(d.duplicated, 0);
    assert.equal(d.reordered, 0);
    assert.equal(d.gaps, 0);
  });

  test('after the drain every message is acked and held by every member', () => {
    const d = report.delivery;
    assert.ok(d);
    assert.equal(report.drained, true);
    assert.equal(d.sent, 2000);
    assert.equal(d.acked, d.sent);
    assert.equal(d.pending, 0);
    assert.equal(d.delivered, d.expected);
    assert.equal(d.ownCopies, d.sent);
  });

  test('the server database: gapless timelines, no cmid or text twice, every message on every member’s timeline once', () => {
    assert.ok(report.db);
    assert.deepEqual(report.db.violations, []);
    assert.equal(report.db.messages, 2000);
  });

  test('the run was as rough as it claims: 200 engines on both links, SIGKILL restarts, every kind of fault', () => {
    assert.equal(report.clients, 200);
    assert.ok((report.transports.http ?? 0) > 0 && (report.transports.ws ?? 0) > 0);
    assert.equal(report.kills, 2);
    for (const kind of FAULT_KINDS) assert.ok(report.faults[kind] > 0, `no ${kind} fault fired`);
    assert.ok(report.proxy.upstreamRefused > 0, 'no connection met the server down');
  });

  test('nothing else went wrong (no server crash, no unexpected server log, no epoch reset)', () => {
    assert.deepEqual(report.violations, []);
  });
});
