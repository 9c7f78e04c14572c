import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode, Limits, ProtocolError } from '@synkey/protocol';

/**
 * Dev mode's switch that takes a user's connection "offline" on the server side, so a demo can show
 * what a client does when its link dies and stays dead: the user's long links are closed, and every
 * new link or short-link request the user makes is refused with UNAVAILABLE until the switch is off.
 */
export class OfflineUsers {
  private readonly users = new Set<string>();

  /** Takes `user` offline (`on`) or lets them back. */
  set(user: string, on: boolean): void {
    if (on) this.users.add(user);
    else this.users.delete(user);
  }

  /** Whether `user` is held offline. */
  has(user: string): boolean {
    return this.users.has(user);
  }

  /** Throws UNAVAILABLE when `user` is held offline; links call it once the user is known. */
  admit(user: string): void {
    if (this.users.has(user)) throw new ProtocolError(ErrorCode.Unavailable, 'this user is offline (dev switch)');
  }
}

/** The parsed query of `POST /dev/offline?user=NAME&on=1|0`, or a message saying what is wrong. */
export function parseOfflineQuery(params: URLSearchParams): { user: string; on: boolean } | { error: string } {
  const user = params.get('user') ?? '';
  if (user.length === 0 || user.length > Limits.maxId) return { error: 'user must be 1..64 characters' };
  const on = params.get('on');
  if (on !== '1' && on !== '0') return { error: 'on must be 1 or 0' };
  return { user, on: on === '1' };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * The dev routes of the switch: `POST /dev/offline?user=NAME&on=1` takes the user offline and closes
 * their long links (via `kick`), `on=0` lets them back; `GET /dev/offline?user=NAME` reads it. Both
 * answer `{ user, offline }`. Returns false for any other request.
 */
export function offlineRoute(offline: OfflineUsers, kick: (user: string) => number) {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/dev/offline') return false;
    if (req.method === 'GET') {
      const user = url.searchParams.get('user') ?? '';
      json(res, 200, { user, offline: offline.has(user) });
      return true;
    }
    if (req.method !== 'POST') return false;
    const q = parseOfflineQuery(url.searchParams);
    if ('error' in q) {
      json(res, 400, { error: ErrorCode.Invalid, message: q.error });
      return true;
    }
    offline.set(q.user, q.on);
    if (q.on) kick(q.user);
    json(res, 200, { user: q.user, offline: q.on });
    return true;
  };
}
