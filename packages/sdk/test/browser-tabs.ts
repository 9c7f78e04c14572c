import { after, afterEach, before } from 'node:test';
import { mintToken } from '@synkey/server';
import { WebSocket } from 'ws';
import type { ClientEvent, SessionConfig } from '../src/browser/api';
import { EngineHost, type HostDeps, type Session, type SessionHooks } from '../src/browser/engine-host';
import type { OpenStore } from '../src/browser/shared-engine';
import type { Channel } from '../src/browser/tab-bus';
import { MemoryStore } from '../src/memory-store';
import type { ChatMessage } from '../src/state';
import { ChannelSpace } from './browser-channels';
import { FakeLocks } from './browser-locks';
import { cleanup, SECRET } from './server-harness';

/**
 * The durable store as a browser with working IndexedDB would give it: here a fresh MemoryStore,
 * opened in a later task as IndexedDB's open is.
 */
export const memoryOpenStore: OpenStore = async () => {
  await new Promise((resolve) => setTimeout(resolve, 1));
  return { store: new MemoryStore(), degraded: false };
};

/**
 * The engine host picks the global WebSocket (there is no option for it); Node 20 has none, so the
 * tests lend it `ws`'s. Returns the function that takes it back.
 */
export function lendWebSocket(): () => void {
  const scope = globalThis as { WebSocket?: unknown };
  if (scope.WebSocket !== undefined) return () => undefined;
  scope.WebSocket = WebSocket;
  return () => {
    delete scope.WebSocket;
  };
}

/** Options of one simulated tab's host. */
export interface TabOptions {
  /** Wraps the tab's channels (to observe or interfere). */
  wrap?: (channel: Channel) => Channel;
  openStore?: OpenStore;
  callTimeoutMs?: number;
  /** false: a context without Web Locks / BroadcastChannel. */
  shared?: boolean;
}

/**
 * Simulated browser tabs of one origin: each {@link EngineHost} is one tab's (or worker's) context;
 * they share one Web Locks manager and talk over Node's BroadcastChannel in a namespace of their own.
 */
export class Tabs {
  readonly locks = new FakeLocks();
  readonly space = new ChannelSpace();
  private readonly sessions = new Set<Session>();

  host(options: TabOptions = {}): EngineHost {
    const shared = options.shared ?? true;
    const wrap = options.wrap ?? ((c: Channel) => c);
    const deps: HostDeps = {
      openStore: options.openStore ?? memoryOpenStore,
      ...(options.callTimeoutMs !== undefined ? { callTimeoutMs: options.callTimeoutMs } : {}),
      ...(shared ? { locks: this.locks.asLockManager(), channel: (name: string) => wrap(this.space.open(name)) } : {}),
    };
    return new EngineHost(deps);
  }

  /** Opens a session on `host`; it is closed by {@link Tabs.close} unless the test closed it. */
  open(host: EngineHost, config: SessionConfig, hooks: SessionHooks): Session {
    const session = host.open(config, hooks);
    const close = session.close;
    const tracked: Session = {
      ...session,
      close: async () => {
        this.sessions.delete(tracked);
        await close();
      },
    };
    this.sessions.add(tracked);
    return tracked;
  }

  async close(): Promise<void> {
    await Promise.all([...this.sessions].map((s) => s.close().catch(() => undefined)));
    this.space.closeAll();
  }
}

/** A session config for `user` on `server` over the WebSocket only. */
export function configFor(server: string, user: string, extra: Partial<SessionConfig> = {}): SessionConfig {
  return { server, user, transport: 'ws', ...extra };
}

/** Hooks that mint tokens for `user` and record the events they get. */
export function recording(user: string): SessionHooks & { events: ClientEvent[]; tokens: number } {
  const hooks = {
    events: [] as ClientEvent[],
    tokens: 0,
    getToken: async () => {
      hooks.tokens++;
      return mintToken(SECRET, user);
    },
    onEvent: (event: ClientEvent) => {
      hooks.events.push(event);
    },
  };
  return hooks;
}

/** The messages of `conv` the recorded events carried, with this cmid. */
export function messagesWithCmid(events: readonly ClientEvent[], cmid: string): ChatMessage[] {
  return events.flatMap((e) => (e.type === 'messages' ? e.messages.filter((m) => m.cmid === cmid) : []));
}

/** Rejects with `what` after `ms`: turns a hang into a failure. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Registers the hooks every browser-runtime suite needs: `ws` lent as the global WebSocket for the
 * file, and a fresh {@link Tabs} per test, closed (with the servers and engines) after it.
 * Returns the current test's tabs.
 */
export function tabsPerTest(): () => Tabs {
  let giveBack: () => void = () => undefined;
  before(() => {
    giveBack = lendWebSocket();
  });
  after(() => giveBack());
  let tabs = new Tabs();
  afterEach(async () => {
    await tabs.close();
    tabs = new Tabs();
    await cleanup();
  });
  return () => tabs;
}
