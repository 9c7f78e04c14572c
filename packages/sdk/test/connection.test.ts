import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { CloseCode, ErrorCode, frame, Op, type ProtocolError } from '@synkey/protocol';
import { WebSocket } from 'ws';
import { reconnectPolicy } from '../src/backoff';
import { Connection, type ConnectionOptions, type ConnectionState } from '../src/connection';
import type { FetchLike } from '../src/http-transport';
import type { Transport } from '../src/transport';
import type { WebSocketConstructor } from '../src/ws-transport';
import { type FakeWsServer, fakeFetch, fakeWsServer } from './fake-peers';
import { sleep, waitFor } from './helpers';

const servers: FakeWsServer[] = [];
const connections: Connection[] = [];
after(async () => {
  for (const c of connections) c.close();
  await Promise.all(servers.map((s) => s.close()));
});

async function serve(options: Parameters<typeof fakeWsServer>[0] = {}): Promise<FakeWsServer> {
  const server = await fakeWsServer(options);
  servers.push(server);
  return server;
}

function connect(overrides: Partial<ConnectionOptions>) {
  const states: ConnectionState[] = [];
  const ups: Transport[] = [];
  const errors: Error[] = [];
  const connection = new Connection({
    server: 'http://127.0.0.1:1',
    mode: 'ws',
    getToken: () => 'tok',
    refreshable: false,
    WebSocket,
    policy: { ...reconnectPolicy, minMs: 20, maxMs: 40, probe: { minMs: 20, maxMs: 40 } },
    rateLimit: false,
    requestTimeoutMs: 1_000,
    connectTimeoutMs: 1_000,
    random: Math.random,
    onUp: (link) => ups.push(link),
    onDown: () => {},
    onNotify: () => {},
    onState: (s) => states.push(s),
    onError: (e) => errors.push(e),
    ...overrides,
  });
  connections.push(connection);
  connection.start('device-1');
  return { connection, states, ups, errors };
}

describe('Connection', () => {
  it('reconnects with backoff after the link drops', async () => {
    const server = await serve();
    const { connection, ups, states } = connect({ wsUrl: server.url });
    await waitFor(() => connection.state === 'online');
    server.sockets[0]?.close(1001, 'bye');
    await waitFor(() => ups.length === 2 && connection.state === 'online');
    assert.deepEqual(states, ['connecting', 'online', 'offline', 'connecting', 'online']);
  });

  it('fetches a new token and reconnects on TOKEN_EXPIRED', async () => {
    const server = await serve({
      auth: (a) =>
        a.token === 'old'
          ? {
              error: { code: ErrorCode.TokenExpired, message: 'expired', fatal: true },
              closeCode: CloseCode.TokenExpired,
            }
          : 'ok',
    });
    const tokens = ['old', 'new'];
    let calls = 0;
    const { connection } = connect({
      wsUrl: server.url,
      refreshable: true,
      getToken: () => tokens[Math.min(calls++, 1)] as string,
      policy: { ...reconnectPolicy, minMs: 60_000, maxMs: 60_000 },
    });
    await waitFor(() => connection.state === 'online');
    assert.equal(calls, 2);
    assert.equal(server.sockets.at(-1)?.auth?.token, 'new');
  });

  it('follows TLS_REQUIRED to the URL the server names', async () => {
    const secure = await serve();
    const plain = await serve({
      auth: () => ({
        error: { code: ErrorCode.TlsRequired, message: 'tls please', url: secure.url, fatal: true },
        closeCode: CloseCode.TlsRequired,
      }),
    });
    const { connection } = connect({ wsUrl: plain.url, policy: { ...reconnectPolicy, minMs: 60_000, maxMs: 60_000 } });
    await waitFor(() => connection.state === 'online');
    assert.equal(secure.sockets.length, 1);
    assert.equal(plain.sockets.length, 1);
  });

  it('with a fixed token, stops after UNAUTHENTICATED until kicked', async () => {
    const server = await serve({
      auth: () => ({
        error: { code: ErrorCode.Unauthenticated, message: 'bad token', fatal: true },
        closeCode: CloseCode.Unauthenticated,
      }),
    });
    const { connection, errors } = connect({ wsUrl: server.url });
    await waitFor(() => connection.state === 'offline' && server.sockets.length === 1);
    await sleep(200);
    assert.equal(server.sockets.length, 1);
    assert.equal((errors[0] as ProtocolError).code, ErrorCode.Unauthenticated);
    connection.kick();
    await waitFor(() => server.sockets.length === 2);
  });

  it('kick() reconnects at once instead of waiting out the backoff', async () => {
    const server = await serve();
    const { connection } = connect({
      wsUrl: server.url,
      policy: { ...reconnectPolicy, minMs: 600_000, maxMs: 600_000 },
    });
    await waitFor(() => connection.state === 'online');
    server.sockets[0]?.close(1001, 'bye');
    await waitFor(() => connection.state === 'offline');
    connection.kick();
    await waitFor(() => connection.state === 'online');
  });

  it('holds a request made while offline until a link is up', async () => {
    const server = await serve({ onFrame: (f, s) => s.send(frame(Op.CONV_LIST_REPLY, f.seq, { convs: [] })) });
    const { connection } = connect({ wsUrl: server.url });
    const reply = await connection.request(Op.CONV_LIST, {}, 2_000);
    assert.deepEqual(reply, { convs: [] });
  });

  it('rejects a request when no link comes up within its timeout', async () => {
    const { connection } = connect({ wsUrl: 'ws://127.0.0.1:1/ws' });
    await assert.rejects(
      connection.request(Op.CONV_LIST, {}, 100),
      (e: ProtocolError) => e.code === ErrorCode.Unavailable,
    );
  });

  it('auto falls back to HTTP (degraded) when the WebSocket cannot connect, and switches back once a probe connects', async () => {
    const server = await serve();
    let blocked = true;
    const Flaky = class extends WebSocket {
      constructor(url: string) {
        super(blocked ? 'ws://127.0.0.1:1/ws' : url);
      }
    } as unknown as WebSocketConstructor;
    const { fetch } = fakeFetch({
      answer: (f) =>
        f.op === Op.POLL ? sleep(50).then(() => frame(Op.NOTIFY, f.seq, { epoch: 1, seq: 0 })) : undefined,
    });
    const { connection, ups } = connect({
      wsUrl: server.url,
      mode: 'auto',
      WebSocket: Flaky,
      fetch: fetch as FetchLike,
    });
    await waitFor(() => connection.state === 'degraded');
    assert.equal(connection.link?.kind, 'http');
    blocked = false;
    await waitFor(() => connection.state === 'online');
    assert.equal(connection.link?.kind, 'ws');
    assert.deepEqual(
      ups.map((l) => l.kind),
      ['http', 'ws'],
    );
  });
});
