import { type BodyOf, ErrorCode } from '@synkey/protocol';
import { backoff, nextReconnect, type ReconnectPolicy } from './backoff';
import { isLinkFailure, linkDown, ServerError } from './errors';
import type { FetchLike } from './http-transport';
import { Pacer, type RateLimit } from './pacer';
import type { AuthBody, CallOp, Notify, ReplyOf, Transport } from './transport';
import { connectWebSocket, type WebSocketConstructor } from './ws-transport';

/**
 * The state of the connection:
 * - `connecting`: opening a link;
 * - `online`: a link is up (the WebSocket, or HTTP when the transport is `http`);
 * - `degraded`: `auto` could not open a WebSocket and runs over HTTP while it keeps probing;
 * - `offline`: no link; waiting to reconnect.
 */
export type ConnectionState = 'connecting' | 'online' | 'degraded' | 'offline';

/** Which link to use; `auto` prefers the WebSocket and falls back to HTTP. */
export type TransportMode = 'ws' | 'http' | 'auto';

/** Options of {@link Connection}. */
export interface ConnectionOptions {
  /** The server's base URL, e.g. `https://chat.example.com`. */
  server: string;
  /** The WebSocket URL; default: `server` with ws(s) and `/ws`. */
  wsUrl?: string;
  mode: TransportMode;
  getToken(): string | Promise<string>;
  /**
   * Whether `getToken` may return a new token; if not, UNAUTHENTICATED stops reconnecting until
   * {@link Connection.kick}.
   */
  refreshable: boolean;
  /** Sent in AUTH to name the client software. */
  client?: string;
  WebSocket?: WebSocketConstructor;
  fetch?: FetchLike;
  policy: ReconnectPolicy;
  /** The client-side request pace; `false` sends at once. */
  rateLimit: RateLimit | false;
  /** Default reply timeout of a request. */
  requestTimeoutMs: number;
  /** Time allowed to open a link and get AUTH_OK. */
  connectTimeoutMs: number;
  pollWaitMs?: number;
  random: () => number;
  /** A link came up. */
  onUp(link: Transport): void;
  /** The current link went down. */
  onDown(link: Transport, reason: Error): void;
  onNotify(notify: Notify): void;
  /** A link's heartbeat (or a POLL without news) named the server's newest SynKey. */
  onHead?(head: Notify): void;
  onState(state: ConnectionState): void;
  /** Something the host may want to know: a server ERROR, a failing token source. */
  onError(error: Error): void;
}

/** The endpoints of a server: the WebSocket URL, the short link's URL and the media API's base URL. */
export function linkUrls(server: string): { ws: string; http: string; media: string } {
  const url = new URL(server);
  const secure = url.protocol === 'https:' || url.protocol === 'wss:';
  const path = url.pathname.replace(/\/+$/, '');
  const http = `${secure ? 'https' : 'http'}://${url.host}${path}`;
  return { ws: `${secure ? 'wss' : 'ws'}://${url.host}${path}/ws`, http: `${http}/link`, media: `${http}/media` };
}

interface LinkWaiter {
  resolve(link: Transport): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * Keeps one authenticated link to the server: connects, reconnects with backoff (at once on
 * {@link Connection.kick}), refreshes the token on TOKEN_EXPIRED, follows TLS_REQUIRED, and in `auto`
 * mode falls back to HTTP and probes the WebSocket in the background.
 */
export class Connection {
  private current: Transport | undefined;
  private upgrade: Transport | undefined;
  private stateValue: ConnectionState = 'offline';
  private attempt = 0;
  private token: string | undefined;
  private tokenStale = true;
  private fetchingToken: Promise<string> | undefined;
  private preferHttp = false;
  private probing = false;
  private probeAttempt = 0;
  private probeTimer: ReturnType<typeof setTimeout> | undefined;
  private wake: (() => void) | undefined;
  private readonly waiters = new Set<LinkWaiter>();
  /** One pace for all links: the server's limit is per user, so a new link gets no new burst. */
  private readonly pacer: Pacer | undefined;
  private wsUrl: string;
  private readonly httpUrl: string;
  private device = '';
  private started = false;
  private stopped = false;

  constructor(private readonly options: ConnectionOptions) {
    const urls = linkUrls(options.server);
    this.wsUrl = options.wsUrl ?? urls.ws;
    this.httpUrl = urls.http;
    this.pacer = options.rateLimit ? new Pacer(options.rateLimit) : undefined;
  }

  /** The connection state. */
  get state(): ConnectionState {
    return this.stateValue;
  }

  /** The link that is up, if any. */
  get link(): Transport | undefined {
    return this.current;
  }

  /** Starts connecting as `device`. */
  start(device: string): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.device = device;
    void this.run();
  }

  /** Reconnects now instead of waiting out the backoff (call on `online` and when the page becomes visible). */
  kick(): void {
    if (this.stateValue === 'degraded') this.probeSoon(0);
    this.wake?.();
  }

  /** Closes the link and stops reconnecting. Requests waiting for a link reject. */
  close(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.probeTimer);
    this.wake?.();
    const reason = linkDown('the connection was closed');
    this.upgrade?.close(reason);
    this.current?.close(reason);
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(reason);
    }
    this.waiters.clear();
    this.setState('offline');
  }

  /**
   * Sends a request on the current link, waiting up to `timeoutMs` for one to come up, and paced
   * under the rate limit. Rejects like {@link Transport.request}; never hangs.
   */
  async request<O extends CallOp>(
    op: O,
    body: BodyOf<O>,
    timeoutMs = this.options.requestTimeoutMs,
  ): Promise<ReplyOf<O>> {
    const link = this.current ?? (await this.nextLink(timeoutMs));
    const wait = this.pacer?.take() ?? 0;
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    return link.request(op, body, timeoutMs);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      this.setState('connecting');
      let link: Transport;
      try {
        link = this.upgrade ?? (await this.open());
      } catch (error) {
        if (this.stopped) return;
        await this.pause(error as Error, 0);
        continue;
      } finally {
        this.upgrade = undefined;
      }
      if (this.stopped) {
        link.close();
        return;
      }
      const upAt = Date.now();
      this.up(link);
      const reason = await link.closed;
      this.current = undefined;
      clearTimeout(this.probeTimer);
      this.options.onDown(link, reason);
      if (this.stopped) return;
      // The probe has opened a WebSocket and took the HTTP link down to switch to it.
      if (this.upgrade) continue;
      await this.pause(reason, Date.now() - upAt);
    }
  }

  private async open(): Promise<Transport> {
    const auth = await this.authBody();
    const { mode } = this.options;
    if (mode === 'http') return this.openHttp(auth);
    if (mode === 'ws' || !this.preferHttp) {
      try {
        return await this.openWs(auth);
      } catch (error) {
        // A server that answered over the WebSocket (e.g. TOKEN_EXPIRED) is reachable over it.
        if (mode === 'ws' || error instanceof ServerError) throw error;
        this.preferHttp = true;
      }
    }
    try {
      return await this.openHttp(auth);
    } catch (error) {
      this.preferHttp = false;
      throw error;
    }
  }

  /**
   * The token the links use, fetched when none is known or it went stale. Pass the token a server
   * refused (an HTTP 401) to get a new one; callers refused at the same time share one fetch.
   */
  currentToken(refused?: string): Promise<string> {
    if (refused !== undefined && refused === this.token) this.tokenStale = true;
    if (!this.tokenStale && this.token !== undefined) return Promise.resolve(this.token);
    this.fetchingToken ??= Promise.resolve()
      .then(() => this.options.getToken())
      .then(
        (token) => {
          this.fetchingToken = undefined;
          this.token = token;
          this.tokenStale = false;
          return token;
        },
        (error: unknown) => {
          this.fetchingToken = undefined;
          throw error;
        },
      );
    return this.fetchingToken;
  }

  private async authBody(): Promise<AuthBody> {
    return { token: await this.currentToken(), device: this.device, client: this.options.client };
  }

  private openWs(auth: AuthBody): Promise<Transport> {
    const WebSocket = this.options.WebSocket ?? (globalThis.WebSocket as WebSocketConstructor | undefined);
    if (!WebSocket) return Promise.reject(linkDown('this environment has no WebSocket'));
    return connectWebSocket({
      url: this.wsUrl,
      WebSocket,
      auth,
      connectTimeoutMs: this.options.connectTimeoutMs,
      onNotify: (n) => this.options.onNotify(n),
      onHead: (n) => this.options.onHead?.(n),
      onError: (e) => this.options.onError(e),
    });
  }

  private async openHttp(auth: AuthBody): Promise<Transport> {
    const fetch: FetchLike = this.options.fetch ?? ((url, init) => globalThis.fetch(url, init));
    // Loaded on first use: where the WebSocket gets through, the short link's code is never fetched.
    const { connectHttp } = await import('./http-transport');
    return connectHttp({
      url: this.httpUrl,
      fetch,
      auth,
      connectTimeoutMs: this.options.connectTimeoutMs,
      requestTimeoutMs: this.options.requestTimeoutMs,
      pollWaitMs: this.options.pollWaitMs,
      onNotify: (n) => this.options.onNotify(n),
      onHead: (n) => this.options.onHead?.(n),
      onError: (e) => this.options.onError(e),
    });
  }

  private up(link: Transport): void {
    this.current = link;
    if (link.kind === 'ws') {
      this.preferHttp = false;
      this.probeAttempt = 0;
    }
    const degraded = link.kind === 'http' && this.options.mode === 'auto';
    this.setState(degraded ? 'degraded' : 'online');
    if (degraded) this.probeSoon(backoff(this.probeAttempt++, this.options.policy.probe, this.options.random));
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.resolve(link);
    }
    this.waiters.clear();
    this.options.onUp(link);
  }

  private probeSoon(delayMs: number): void {
    clearTimeout(this.probeTimer);
    this.probeTimer = setTimeout(() => void this.probe(), delayMs);
  }

  private async probe(): Promise<void> {
    const link = this.current;
    if (link?.kind !== 'http' || this.probing || this.stopped) return;
    this.probing = true;
    let ws: Transport;
    try {
      ws = await this.openWs(await this.authBody());
    } catch {
      if (this.current === link) {
        this.probeSoon(backoff(this.probeAttempt++, this.options.policy.probe, this.options.random));
      }
      return;
    } finally {
      this.probing = false;
    }
    if (this.current !== link || this.stopped) {
      ws.close();
      return;
    }
    this.upgrade = ws;
    link.close(linkDown('switching to the WebSocket'));
  }

  private async pause(reason: Error, upMs: number): Promise<void> {
    const server = reason instanceof ServerError ? reason : undefined;
    const plan = nextReconnect(this.attempt, upMs, server?.retryMs, this.options.policy, this.options.random);
    this.attempt = plan.attempt;
    const firstTry = plan.attempt === 1;
    let delayMs = plan.delayMs;
    if (!isLinkFailure(reason)) this.options.onError(reason);
    switch (server?.code) {
      case ErrorCode.TokenExpired:
        this.tokenStale = true;
        if (firstTry) delayMs = 0;
        break;
      case ErrorCode.Unauthenticated:
        if (!this.options.refreshable) delayMs = Number.POSITIVE_INFINITY;
        this.tokenStale = true;
        break;
      case ErrorCode.TlsRequired:
        if (server.url) {
          this.wsUrl = server.url;
          if (firstTry) delayMs = 0;
        }
        break;
    }
    this.setState('offline');
    await this.sleepUntilKicked(delayMs);
  }

  private sleepUntilKicked(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(() => done(), ms) : undefined;
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      this.wake = done;
    });
  }

  private nextLink(timeoutMs: number): Promise<Transport> {
    if (this.stopped) return Promise.reject(linkDown('the connection was closed'));
    return new Promise((resolve, reject) => {
      const waiter: LinkWaiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(linkDown(`not connected within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  private setState(state: ConnectionState): void {
    if (state === this.stateValue) return;
    this.stateValue = state;
    this.options.onState(state);
  }
}
