import { ErrorCode, ProtocolError } from '@synkey/protocol';
import type { ClientEvent, EngineCalls, SessionConfig } from './api';
import { type OpenStore, SharedEngine } from './shared-engine';
import type { Channel } from './tab-bus';

/** What one page gives the host for its session. */
export interface SessionHooks {
  /** The page's token source (absent when the config carries a fixed token). */
  getToken?: () => Promise<string>;
  /** Receives the engine's events. */
  onEvent: (event: ClientEvent) => void;
}

/** What the host needs from its environment. */
export interface HostDeps {
  locks?: LockManager;
  channel?: (name: string) => Channel;
  openStore: OpenStore;
  /** Calls to another tab or to a page's token source without an answer in this time fail. Default 15 s. */
  callTimeoutMs?: number;
}

/** One page's use of a shared engine. Its calls are the engine's; `close` ends the page's part. */
export interface Session extends EngineCalls {
  close(): Promise<void>;
}

interface Entry {
  engine: SharedEngine;
  sessions: Set<SessionRecord>;
}

interface SessionRecord {
  config: SessionConfig;
  hooks: SessionHooks;
}

/**
 * Hosts the engines of one JavaScript context (a SharedWorker, a dedicated Worker or a page):
 * one {@link SharedEngine} per server and user, shared by every session that asks for it and
 * closed when the last of them leaves. Tokens come from the newest session that can give one.
 */
export class EngineHost {
  private readonly entries = new Map<string, Entry>();
  private anonymous = 0;

  constructor(private readonly deps: HostDeps) {}

  /** Joins (or starts) the engine for `config`'s server and user. */
  open(config: SessionConfig, hooks: SessionHooks): Session {
    if (config.token === undefined && hooks.getToken === undefined) {
      throw new ProtocolError(ErrorCode.Invalid, 'a token or getToken is required');
    }
    const key = config.user ? `${config.server}|${config.user}` : `${config.server}|anonymous-${++this.anonymous}`;
    let entry = this.entries.get(key);
    const record: SessionRecord = { config, hooks };
    if (!entry) {
      const sessions = new Set<SessionRecord>();
      const engine = new SharedEngine(key, config, {
        ...(this.deps.locks ? { locks: this.deps.locks } : {}),
        ...(this.deps.channel ? { channel: this.deps.channel } : {}),
        openStore: this.deps.openStore,
        getToken: () => this.token(sessions),
        callTimeoutMs: this.deps.callTimeoutMs ?? 15_000,
      });
      entry = { engine, sessions };
      this.entries.set(key, entry);
    }
    entry.sessions.add(record);
    const stop = entry.engine.listen((event) => hooks.onEvent(event));
    const owner = entry;
    let closed = false;
    return {
      ...entry.engine.calls,
      close: async () => {
        if (closed) return;
        closed = true;
        stop();
        owner.sessions.delete(record);
        if (owner.sessions.size === 0 && this.entries.get(key) === owner) {
          this.entries.delete(key);
          await owner.engine.close();
        }
      },
    };
  }

  /** The number of engines this context hosts. */
  get size(): number {
    return this.entries.size;
  }

  /** Asks the sessions for a token, newest first; a session that does not answer in time is skipped. */
  private async token(sessions: Set<SessionRecord>): Promise<string> {
    const newestFirst = [...sessions].reverse();
    let lastError: unknown = new ProtocolError(ErrorCode.Unauthenticated, 'no page can give a token');
    for (const s of newestFirst) {
      if (s.hooks.getToken) {
        try {
          return await withTimeout(s.hooks.getToken(), this.deps.callTimeoutMs ?? 15_000);
        } catch (error) {
          lastError = error;
        }
      } else if (s.config.token !== undefined) return s.config.token;
    }
    throw lastError;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new ProtocolError(ErrorCode.Timeout, 'getToken did not answer')), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
