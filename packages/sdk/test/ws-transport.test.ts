import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { CloseCode, decodeBody, ErrorCode, frame, Op, type ProtocolError } from '@synkey/protocol';
import { WebSocket } from 'ws';
import { ServerError } from '../src/errors';
import type { Notify, Transport } from '../src/transport';
import { connectWebSocket } from '../src/ws-transport';
import { type FakeWsServer, fakeWsServer } from './fake-peers';
import { sleep, waitFor } from './helpers';

const servers: FakeWsServer[] = [];
const links: Transport[] = [];
after(async () => {
  for (const l of links) l.close();
  await Promise.all(servers.map((s) => s.close()));
});

async function serve(options: Parameters<typeof fakeWsServer>[0] = {}): Promise<FakeWsServer> {
  const server = await fakeWsServer(options);
  servers.push(server);
  return server;
}

async function open(server: FakeWsServer, token = 'tok', onHead?: (head: Notify) => void): Promise<Transport> {
  const link = await connectWebSocket({
    url: server.url,
    WebSocket,
    auth: { token, device: 'd1' },
    connectTimeoutMs: 2_000,
    onNotify: () => {},
    onHead,
  });
  links.push(link);
  return link;
}

describe('WebSocket transport', () => {
  it('authenticates with the token in the first frame and resolves with AUTH_OK', async () => {
    const server = await serve();
    const link = await open(server, 'secret-token');
    assert.equal(link.kind, 'ws');
    assert.equal(link.auth.user, 'alice');
    assert.equal(server.sockets[0]?.auth?.token, 'secret-token');
  });

  it('answers a server PING with a PONG carrying the same seq', async () => {
    const server = await serve();
    await open(server);
    const socket = server.sockets[0];
    socket?.send(frame(Op.PING, 77, {}));
    await waitFor(() => socket?.frames.some((f) => f.op === Op.PONG && f.seq === 77) ?? false);
  });

  it('hands the SynKey a server PING carries to onHead; a PING without one calls nothing', async () => {
    const server = await serve();
    const heads: Notify[] = [];
    await open(server, 'tok', (head) => heads.push(head));
    const socket = server.sockets[0];
    socket?.send(frame(Op.PING, 0, {}), frame(Op.PING, 0, { epoch: 1, seq: 9 }), frame(Op.PING, 0, { seq: 10 }));
    await waitFor(() => socket?.frames.filter((f) => f.op === Op.PONG).length === 3, 5_000, 'three PONGs');
    assert.deepEqual(heads, [{ epoch: 1, seq: 9 }]);
  });

  it('sends the requests made in one tick as one BATCH message, in call order', async () => {
    const server = await serve({
      onFrame: (f, socket) => socket.send(frame(Op.OK, f.seq, {})),
    });
    const link = await open(server);
    const socket = server.sockets[0];
    const before = socket?.messages ?? 0;
    await Promise.all([1, 2, 3, 4, 5].map((conv) => link.request(Op.READ, { conv, upTo: 1 }, 2_000)));
    assert.equal((socket?.messages ?? 0) - before, 1);
    assert.deepEqual(
      socket?.frames.map((f) => decodeBody(Op.READ, f.body).conv),
      [1, 2, 3, 4, 5],
    );
  });

  it('declares the link dead after about 1.4 heartbeats of silence', async () => {
    const server = await serve({ heartbeatMs: 100 });
    const link = await open(server);
    const reason = (await link.closed) as ProtocolError;
    assert.equal(reason.code, ErrorCode.Timeout);
  });

  it('stays up while the server keeps pinging', async () => {
    const server = await serve({ heartbeatMs: 300 });
    const link = await open(server);
    const socket = server.sockets[0];
    let down = false;
    void link.closed.then(() => {
      down = true;
    });
    for (let i = 0; i < 12; i++) {
      socket?.send(frame(Op.PING, i + 1, {}));
      await sleep(50);
    }
    assert.equal(down, false);
  });

  it('rejects every pending request when the link drops, and reports why', async () => {
    const server = await serve({ onFrame: (f, socket) => f.op === Op.HISTORY && socket.close(1001, 'going away') });
    const link = await open(server);
    const pending = link.request(Op.SYNC, { epoch: 1, seq: 0 }, 60_000);
    const dropping = link.request(Op.HISTORY, { conv: 1 }, 60_000);
    for (const p of [pending, dropping]) {
      await assert.rejects(p, (e: ProtocolError) => e.code === ErrorCode.Unavailable);
    }
    assert.equal(((await link.closed) as ProtocolError).code, ErrorCode.Unavailable);
    await assert.rejects(link.request(Op.CONV_LIST, {}, 1_000), (e: ProtocolError) => e.code === ErrorCode.Unavailable);
  });

  it('times out a request without a reply and keeps the link up', async () => {
    const server = await serve();
    const link = await open(server);
    await assert.rejects(link.request(Op.CONV_LIST, {}, 50), (e: ProtocolError) => e.code === ErrorCode.Timeout);
    let down = false;
    void link.closed.then(() => {
      down = true;
    });
    await sleep(20);
    assert.equal(down, false);
  });

  it("rejects the connect with the server's TOKEN_EXPIRED", async () => {
    const server = await serve({
      auth: () => ({
        error: { code: ErrorCode.TokenExpired, message: 'expired', fatal: true },
        closeCode: CloseCode.TokenExpired,
      }),
    });
    await assert.rejects(
      open(server),
      (e: ServerError) => e instanceof ServerError && e.code === ErrorCode.TokenExpired,
    );
  });

  it('reads a close code that came without an ERROR frame as the error it stands for', async () => {
    const server = await serve();
    const link = await open(server);
    server.sockets[0]?.close(CloseCode.TokenExpired, '');
    const reason = await link.closed;
    assert.ok(reason instanceof ServerError);
    assert.equal(reason.code, ErrorCode.TokenExpired);
  });

  it('rejects the connect with UNAVAILABLE when nothing listens', async () => {
    const server = await serve();
    const url = server.url;
    await server.close();
    await assert.rejects(
      connectWebSocket({
        url,
        WebSocket,
        auth: { token: 't', device: 'd' },
        connectTimeoutMs: 2_000,
        onNotify: () => {},
      }),
      (e: ProtocolError) => e.code === ErrorCode.Unavailable,
    );
  });

  it('delivers NOTIFY pushes to onNotify', async () => {
    const server = await serve();
    const seen: number[] = [];
    const link = await connectWebSocket({
      url: server.url,
      WebSocket,
      auth: { token: 't', device: 'd' },
      connectTimeoutMs: 2_000,
      onNotify: (n) => seen.push(n.seq),
    });
    links.push(link);
    server.sockets[0]?.send(frame(Op.NOTIFY, 0, { epoch: 1, seq: 5 }), frame(Op.NOTIFY, 0, { epoch: 1, seq: 6 }));
    await waitFor(() => seen.length === 2);
    assert.deepEqual(seen, [5, 6]);
  });
});
