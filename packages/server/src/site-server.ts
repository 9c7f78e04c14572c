import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/** The placeholders a site page may hold; the site fills them in when it serves the page. */
export const SITE_PLACEHOLDERS = { chat: '__SYNKEY_CHAT__', user: '__SYNKEY_USER__' } as const;

/** The user a page of the site is signed in as when the URL names none. */
export const DEFAULT_SITE_USER = 'visitor';

/** Options of {@link startSite}. */
export interface SiteOptions {
  /** Port to listen on; 0 picks a free one. */
  port: number;
  host: string;
  /** The directory holding `embed.html`. */
  root: string;
  /** The chat server as this process reaches it: the token endpoint asks its `/dev/token`. */
  chatUrl: string;
  /** The chat server's port: pages name the chat on the host name the browser used, with this port. */
  chatPort: number;
  /** The chat server speaks https/wss. */
  chatSecure?: boolean;
  log?: (msg: string, err?: unknown) => void;
}

/** A started site. */
export interface RunningSite {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** A user id a demo page may sign in as: letters, digits, `_`, `-`, `.`, 1–64 of them. */
export function siteUser(value: string | null): string | undefined {
  const user = value ?? DEFAULT_SITE_USER;
  return /^[A-Za-z0-9_.-]{1,64}$/.test(user) ? user : undefined;
}

/** The origin on `port` of the host name a browser used to reach us (`host`: its Host header). */
export function originAt(host: string | undefined, port: number, secure = false): string {
  const name = (host ?? '127.0.0.1').replace(/:\d+$/, '') || '127.0.0.1';
  return `${secure ? 'https' : 'http'}://${name}:${port}`;
}

/**
 * The Content-Security-Policy of a site that embeds the chat from `chat`: scripts and connections
 * only from itself and the chat server, the engine's worker from a `blob:` URL, previews of images
 * and voice from `blob:`/`data:` URLs or the chat server.
 */
export function siteCsp(chat: string): string {
  const ws = chat.replace(/^http/, 'ws');
  return [
    "default-src 'self'",
    `script-src 'self' ${chat}`,
    `connect-src 'self' ${chat} ${ws}`,
    'worker-src blob:',
    `img-src 'self' blob: data: ${chat}`,
    `media-src 'self' blob: ${chat}`,
    "style-src 'self' 'unsafe-inline'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Fills the placeholders of a site page. Both values are safe in an attribute (checked by the callers). */
export function renderSitePage(html: string, chat: string, user: string): string {
  return html.replaceAll(SITE_PLACEHOLDERS.chat, chat).replaceAll(SITE_PLACEHOLDERS.user, user);
}

function send(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}) {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(body);
}

/**
 * A stand-in for a third-party website, for the demo: on its own port (so another origin than the
 * chat server), it serves `embed.html` — a page that embeds the chat with one script tag — under a
 * real site's CSP, and plays the site's backend at `GET /api/chat-token?user=NAME` by asking the
 * chat server's dev endpoint for a token. `?user=NAME` on the page picks who is signed in.
 */
export async function startSite(options: SiteOptions): Promise<RunningSite> {
  const log = options.log ?? ((msg, err) => console.error(`[synkey site] ${msg}`, err ?? ''));
  const page = join(options.root, 'embed.html');

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed', { allow: 'GET, HEAD' });
      return;
    }
    const user = siteUser(url.searchParams.get('user'));
    if (url.pathname === '/api/chat-token') {
      if (!user) return send(res, 400, 'application/json', JSON.stringify({ error: 'bad user name' }));
      const answer = await fetch(`${options.chatUrl}/dev/token?user=${encodeURIComponent(user)}`);
      send(res, answer.status, 'application/json', await answer.text());
      return;
    }
    if (url.pathname === '/' || url.pathname === '/embed' || url.pathname === '/embed.html') {
      if (!user) return send(res, 400, 'text/plain; charset=utf-8', 'user: letters, digits, _ - . (1-64)');
      const chat = originAt(req.headers.host, options.chatPort, options.chatSecure);
      const html = renderSitePage(await readFile(page, 'utf8'), chat, user);
      send(res, 200, 'text/html; charset=utf-8', html, { 'content-security-policy': siteCsp(chat) });
      return;
    }
    send(res, 404, 'text/plain; charset=utf-8', 'not found');
  }

  const server: Server = createServer((req, res) => {
    onRequest(req, res).catch((e) => {
      log('request failed', e);
      if (!res.headersSent) send(res, 502, 'text/plain; charset=utf-8', 'the chat server did not answer');
    });
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * A route for the chat server: `GET /embed.html` (and `/embed`) there redirects to the same page on
 * the site's port, so links from the demo pages land on the other origin.
 */
export function redirectToSite(sitePort: () => number | undefined) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? '/', 'http://x');
    const port = sitePort();
    if (req.method !== 'GET' || (url.pathname !== '/embed.html' && url.pathname !== '/embed') || !port) return false;
    const target = `${originAt(req.headers.host, port)}/embed.html${url.search}`;
    res.writeHead(302, { location: target, 'content-length': 0 });
    res.end();
    return true;
  };
}
