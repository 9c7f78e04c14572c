import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ErrorCode, type FrameLimits, Limits, ProtocolError } from '@synkey/protocol';
import { WebSocketServer } from 'ws';
import { mintToken, secretKey } from './auth';
import { CommitGroup } from './commit-group';
import { OfflineUsers, offlineRoute } from './dev-offline';
import { Dispatcher } from './dispatcher';
import { handleShortLink } from './http-link';
import { MEDIA_DEFAULTS, type MediaOptions } from './media/options';
import { type MediaService, startMedia } from './media/service';
import { Notifier } from './notifier';
import { openStore } from './store/sqlite-store';
import type { ChatStore } from './store/types';
import { WsLink } from './ws-link';

/** Options of {@link startServer}. Every field has a default fit for development. */
export interface ServerOptions {
  /** Port to listen on; 0 picks a free one. Default 8787. */
  port: number;
  /** Interface to bind. Default 127.0.0.1. */
  host: string;
  /** SQLite file, or ':memory:'. Default ':memory:'. */
  dbPath: string;
  /**
   * Fsync every commit (SQLite `synchronous = FULL`), so that acknowledged messages survive an OS crash or
   * power loss too. Default false: commits survive the server process crashing or being killed, and the
   * OS flushes them within moments (fsync at WAL checkpoints).
   */
  fsync: boolean;
  /** HS256 secret for tokens. Required unless `dev`; in dev mode a secret is kept in the database. */
  secret?: string;
  /**
   * Dev mode: enables `GET /dev/token?user=NAME` (mints a token), `GET /dev/connections?user=NAME`
   * (open long links), `POST /dev/kick?user=NAME` (closes them) and `POST /dev/offline?user=NAME&on=1|0`
   * (closes them and refuses the user's links until `on=0`).
   */
  dev: boolean;
  /** Server PING interval; links silent for 2.5× this are closed. Default 25 s. */
  heartbeatMs: number;
  /** Largest inbound frame or message in bytes. Default 256 KiB. */
  maxFrame: number;
  /** Requests per user: `perSecond` refill, `burst` bucket. Default 50/s, burst 100. */
  rateLimit: { perSecond: number; burst: number };
  /**
   * TLS certificate and key (PEM). Without `port` the main port serves https/wss only; with `port`
   * the main port stays plain and this one serves TLS.
   */
  tls?: { cert: string | Buffer; key: string | Buffer; port?: number };
  /** Plain ws:// long links are told to reconnect over wss:// (ERROR TLS_REQUIRED). */
  requireTls: boolean;
  /**
   * Directory of media files. Default: `media` beside the database file; for ':memory:' a temp directory
   * deleted on close.
   */
  mediaDir?: string;
  /** Media settings (stale-upload age, sweep interval, rate limit, per-user quotas…), see {@link MediaOptions}. */
  media?: Partial<Omit<MediaOptions, 'dir' | 'quota'>> & { quota?: Partial<MediaOptions['quota']> };
  /** Extra request handler (static files); returns true when it answered. */
  extraRoutes?: (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;
  /** Error log. Default console.error. */
  log: (msg: string, err?: unknown) => void;
}

/** A started server. */
export interface RunningServer {
  /** `http(s)://host:port` of the main port. */
  url: string;
  /** `ws(s)://host:port/ws` of the main port. */
  wsUrl: string;
  port: number;
  /** The TLS port's `wss://` URL when TLS runs on a port of its own. */
  tlsWsUrl?: string;
  secret: string;
  store: ChatStore;
  /** The directory media files are stored in. */
  mediaDir: string;
  /** Open, authenticated long links (of one user, or all). */
  connections(user?: string): number;
  /** Closes a user's long links; returns how many. */
  kick(user: string): number;
  close(): Promise<void>;
}

const DEFAULTS: ServerOptions = {
  port: 8787,
  host: '127.0.0.1',
  dbPath: ':memory:',
  fsync: false,
  dev: false,
  heartbeatMs: 25_000,
  maxFrame: 256 * 1024,
  rateLimit: { perSecond: 50, burst: 100 },
  requireTls: false,
  log: (msg, err) => console.error(`[synkey] ${msg}`, err ?? ''),
};

const MAX_STRIKES = 100;
/** How long the server keeps an idle keep-alive HTTP connection open. */
const KEEP_ALIVE_MS = 65_000;

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function cors(res: ServerResponse): void {
  res.setHeader('access-control-allow-origin', '*');
  res.setHeader('access-control-allow-methods', 'GET, HEAD, POST, PUT, DELETE, OPTIONS');
  res.setHeader('access-control-allow-headers', 'authorization, content-type, range, if-none-match, if-range');
  res.setHeader('access-control-expose-headers', 'etag, content-range, content-length, accept-ranges, retry-after');
  res.setHeader('access-control-max-age', '86400');
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function isSecure(req: IncomingMessage): boolean {
  return (req.socket as Socket & { encrypted?: boolean }).encrypted === true;
}

/** Starts the Synkey server: WebSocket long link, HTTP short link, health and dev endpoints. */
export async function startServer(options: Partial<ServerOptions> = {}): Promise<RunningServer> {
  const opts: ServerOptions = { ...DEFAULTS, ...options };
  const store = openStore(opts.dbPath, { fsync: opts.fsync, log: opts.log });
  const secret =
    opts.secret ??
    process.env.SYNKEY_SECRET ??
    (opts.dev ? store.meta('dev_secret', () => randomBytes(32).toString('base64url')) : undefined);
  if (!secret) {
    store.close();
    throw new Error('a token secret is required: set SYNKEY_SECRET (or run in dev mode)');
  }
  const limits: FrameLimits = { maxFrame: opts.maxFrame, maxFrames: 256 };
  const notifier = new Notifier((user) => store.maxSeq(user));
  const offline = opts.dev ? new OfflineUsers() : undefined;
  const memoryDb = opts.dbPath === ':memory:' || opts.dbPath === '';
  const tempMediaDir = opts.mediaDir || !memoryDb ? undefined : mkdtempSync(join(tmpdir(), 'synkey-media-'));
  const dropTempMedia = () => tempMediaDir && rmSync(tempMediaDir, { recursive: true, force: true });
  const mediaDir = opts.mediaDir ?? tempMediaDir ?? join(dirname(opts.dbPath), 'media');
  let media: MediaService;
  try {
    media = await startMedia(
      store,
      {
        ...MEDIA_DEFAULTS,
        ...opts.media,
        quota: { ...MEDIA_DEFAULTS.quota, ...opts.media?.quota },
        dir: mediaDir,
      },
      secretKey(secret),
      opts.log,
      offline ? (user) => offline.admit(user) : undefined,
    );
  } catch (e) {
    store.close();
    dropTempMedia();
    throw e;
  }
  const dispatcher = new Dispatcher({
    ...(offline ? { admit: (user: string) => offline.admit(user) } : {}),
    store,
    notifier,
    secret: secretKey(secret),
    heartbeatMs: opts.heartbeatMs,
    maxFrame: opts.maxFrame,
    rateLimit: opts.rateLimit,
    log: opts.log,
    voice: media.voice,
  });
  const group = new CommitGroup(store.batch, () => notifier.flush());
  const links = new Map<string, Set<WsLink>>();
  const allLinks = new Set<WsLink>();
  const linkDeps = {
    dispatcher,
    group,
    notifier,
    limits,
    epoch: store.epoch,
    maxStrikes: MAX_STRIKES,
    log: opts.log,
    register(link: WsLink) {
      const user = link.session!.user;
      let set = links.get(user);
      if (!set) {
        set = new Set();
        links.set(user, set);
      }
      set.add(link);
    },
    unregister(link: WsLink) {
      allLinks.delete(link);
      if (!link.session) return;
      const user = link.session.user;
      const set = links.get(user);
      set?.delete(link);
      if (set?.size === 0) links.delete(user);
    },
  };

  function connectionCount(user?: string): number {
    return user === undefined ? [...links.values()].reduce((n, s) => n + s.size, 0) : (links.get(user)?.size ?? 0);
  }

  function kick(user: string): number {
    const set = [...(links.get(user) ?? [])];
    for (const link of set)
      link.fail(new ProtocolError(ErrorCode.Unavailable, 'disconnected by the server'), { retryMs: 0 });
    return set.length;
  }

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: opts.maxFrame * 4,
    perMessageDeflate: false,
    clientTracking: false,
  });
  let tlsWsBase: string | undefined;

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    cors(res);
    if (req.method === 'OPTIONS') {
      res.writeHead(204).end();
      return;
    }
    if (url.pathname === '/link' && req.method === 'POST') {
      await handleShortLink({ dispatcher, group, limits, log: opts.log }, req, res);
      return;
    }
    if (url.pathname === '/healthz' && req.method === 'GET') {
      json(res, 200, { ok: true, epoch: store.epoch, connections: allLinks.size });
      return;
    }
    if (url.pathname === '/dev/token' && req.method === 'GET' && opts.dev) {
      const user = url.searchParams.get('user') ?? '';
      if (user.length === 0 || user.length > Limits.maxId) {
        json(res, 400, { error: ErrorCode.Invalid, message: 'user must be 1..64 characters' });
        return;
      }
      json(res, 200, { user, token: await mintToken(secret!, user, { name: url.searchParams.get('name') ?? user }) });
      return;
    }
    if (opts.dev && url.pathname === '/dev/connections' && req.method === 'GET') {
      json(res, 200, { connections: connectionCount(url.searchParams.get('user') ?? undefined) });
      return;
    }
    if (opts.dev && url.pathname === '/dev/kick' && req.method === 'POST') {
      json(res, 200, { kicked: kick(url.searchParams.get('user') ?? '') });
      return;
    }
    if (offline && offlineRoute(offline, kick)(req, res)) return;
    if (await media.routes(req, res)) return;
    if (opts.extraRoutes && (await opts.extraRoutes(req, res))) return;
    json(res, 404, { error: ErrorCode.NotFound, message: 'not found' });
  }

  function onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    if (new URL(req.url ?? '/', 'http://x').pathname !== '/ws') {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const link = new WsLink(linkDeps, ws);
      allLinks.add(link);
      if (opts.requireTls && !isSecure(req) && req.headers['x-forwarded-proto'] !== 'https') {
        const host = (req.headers.host ?? `${opts.host}`).replace(/:\d+$/, '');
        const url = tlsWsBase ? tlsWsBase.replace('//HOST', `//${host}`) : `wss://${req.headers.host}/ws`;
        link.fail(new ProtocolError(ErrorCode.TlsRequired, 'this server requires TLS'), { url });
      }
    });
  }

  function handler(req: IncomingMessage, res: ServerResponse): void {
    onRequest(req, res).catch((e) => {
      opts.log('request failed', e);
      if (!res.headersSent) json(res, 500, { error: ErrorCode.Internal, message: 'internal error' });
    });
  }

  const servers: Server[] = [];
  const plainOrTls =
    opts.tls && opts.tls.port === undefined
      ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, handler)
      : createHttpServer(handler);
  servers.push(plainOrTls);
  const mainSecure = opts.tls !== undefined && opts.tls.port === undefined;
  let port: number;
  try {
    port = await listen(plainOrTls, opts.port, opts.host);
    if (opts.tls?.port !== undefined) {
      const tlsServer = createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, handler);
      servers.push(tlsServer);
      const tlsPort = await listen(tlsServer, opts.tls.port, opts.host);
      tlsWsBase = `wss://HOST:${tlsPort}/ws`;
    }
  } catch (e) {
    for (const s of servers) s.close();
    await media.close();
    store.close();
    dropTempMedia();
    throw e;
  }
  for (const s of servers) {
    s.on('upgrade', onUpgrade);
    // Idle keep-alive sockets outlive any client's own idle timeout (browsers, undici: 4–60 s), so it is
    // the client that closes them: a server closing one just as the client reuses it is an ECONNRESET.
    s.keepAliveTimeout = KEEP_ALIVE_MS;
    s.headersTimeout = KEEP_ALIVE_MS + 1000;
    s.requestTimeout = 120_000;
  }

  const deadMs = opts.heartbeatMs * 2.5;
  const ticker = setInterval(() => {
    const now = Date.now();
    for (const link of allLinks) link.heartbeat(now, deadMs);
    dispatcher.sweep(now);
  }, opts.heartbeatMs);
  ticker.unref();

  const base = `${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`;
  return {
    url: `${mainSecure ? 'https' : 'http'}://${base}`,
    wsUrl: `${mainSecure ? 'wss' : 'ws'}://${base}/ws`,
    ...(tlsWsBase ? { tlsWsUrl: tlsWsBase.replace('HOST', opts.host) } : {}),
    port,
    secret,
    store,
    mediaDir,
    connections: connectionCount,
    kick,
    async close() {
      clearInterval(ticker);
      for (const link of [...allLinks]) link.fail(new ProtocolError(ErrorCode.Unavailable, 'server shutting down'));
      notifier.releaseAll();
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections();
            }),
        ),
      );
      wss.close();
      group.flush();
      await media.close();
      store.close();
      dropTempMedia();
    },
  };
}
