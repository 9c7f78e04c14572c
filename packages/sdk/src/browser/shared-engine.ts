import { ErrorCode, ProtocolError } from '@synkey/protocol';
import { createEngineOn, type Engine } from '../engine';
import type { Store } from '../store';
import type { ClientEvent, EngineCalls, SessionConfig, SessionInfo, StorageKind } from './api';
import { BusClient, BusServer, type Channel } from './tab-bus';
import { toWireError } from './wire-error';

/** Opens the durable store for a database name, or says why it cannot. */
export type OpenStore = (
  name: string,
  /** Called when the store closes itself (another tab upgraded or deleted the database). */
  onClose?: (error: Error) => void,
) => Promise<{ store: Store; degraded: boolean; reason?: string }>;

/** What a {@link SharedEngine} needs from its environment; injectable for tests. */
export interface SharedEngineDeps {
  /** Web Locks; without them every context owns its own connection. */
  locks?: LockManager;
  /** Opens the user's channel to the other tabs. */
  channel?: (name: string) => Channel;
  openStore: OpenStore;
  /** The current token, from whichever page can give one. */
  getToken: () => Promise<string>;
  /** Follower calls without an answer in this time reject with TIMEOUT. */
  callTimeoutMs: number;
}

type Role =
  | { kind: 'starting' }
  | { kind: 'owner'; engine: Engine; store: Store; local: EngineCalls; bus?: BusServer }
  | { kind: 'follower'; bus: BusClient };

/**
 * One user's engine, shared by every page of this browser: the context (worker or tab) that holds
 * the user's Web Lock owns the engine and its connection and serves the others over a
 * BroadcastChannel; the others follow. When the owner goes away its lock is released and the
 * next follower in the lock queue takes over, re-running the calls it was waiting on.
 */
export class SharedEngine {
  private role: Role = { kind: 'starting' };
  private readonly listeners = new Set<(event: ClientEvent) => void>();
  private readonly ready: Promise<void>;
  private markReady!: () => void;
  private release: (() => void) | undefined;
  private readonly abort = new AbortController();
  private storage: StorageKind = 'indexeddb';
  private storageReason: string | undefined;
  private closed = false;
  readonly calls: EngineCalls;

  constructor(
    private readonly key: string,
    private readonly config: SessionConfig,
    private readonly deps: SharedEngineDeps,
  ) {
    this.ready = new Promise((resolve) => {
      this.markReady = resolve;
    });
    this.calls = this.makeCalls();
    void this.start();
  }

  /** Receives every engine event; returns the function that stops it. */
  listen(fn: (event: ClientEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Stops this context's part: an owner closes its engine and lets the next tab take over. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Calls still waiting for the role (closed while starting) fail now instead of hanging.
    this.markReady();
    this.abort.abort();
    const role = this.role;
    if (role.kind === 'owner') {
      role.bus?.close();
      await role.engine.close();
      // The engine does not close a store it was given.
      await role.store.close();
    } else if (role.kind === 'follower') {
      for (const p of role.bus.close()) p.reject(new ProtocolError(ErrorCode.Unavailable, 'the client is closed'));
    }
    this.release?.();
    this.channel?.close();
    this.listeners.clear();
  }

  private channel: Channel | undefined;

  private async start(): Promise<void> {
    const { locks } = this.deps;
    this.channel = this.deps.channel?.(`synkey:${this.key}`);
    if (!locks || !this.channel) {
      await this.becomeOwner();
      return;
    }
    const name = `synkey-owner:${this.key}`;
    let got: boolean;
    try {
      got = await locks.request(name, { ifAvailable: true }, (lock) => {
        if (!lock) return false;
        return this.holdOwnership();
      });
    } catch {
      // Web Locks refused (e.g. an opaque origin): own the connection without sharing it.
      if (this.role.kind === 'starting' && !this.closed) await this.becomeOwner();
      return;
    }
    if (got !== false) return;
    this.becomeFollower();
    locks.request(name, { signal: this.abort.signal }, () => this.holdOwnership()).catch(() => undefined);
  }

  /** Runs as the owner until closed; the returned promise keeps the lock held. */
  private holdOwnership(): Promise<true> {
    return new Promise<true>((resolve) => {
      this.release = () => resolve(true);
      if (this.closed) {
        resolve(true);
        return;
      }
      const before = this.role;
      void this.becomeOwner().then(() => {
        if (before.kind !== 'follower') return;
        for (const p of before.bus.close()) {
          const fn = this.calls[p.method] as (...args: unknown[]) => Promise<unknown>;
          fn.apply(this.calls, p.args).then(p.resolve, p.reject);
        }
      });
    });
  }

  private async becomeOwner(): Promise<void> {
    const store = await this.openStore();
    if (this.closed) {
      await store.close();
      return;
    }
    const engine = createEngineOn(store, {
      server: this.config.server,
      ...(this.config.wsUrl ? { wsUrl: this.config.wsUrl } : {}),
      ...(this.config.transport ? { transport: this.config.transport } : {}),
      ...(this.config.client ? { client: this.config.client } : {}),
      ...(this.config.sendPolicy ? { sendPolicy: this.config.sendPolicy } : {}),
      ...(this.config.media ? { media: this.config.media } : {}),
      ...(this.config.user ? { user: this.config.user } : {}),
      getToken: this.deps.getToken,
    });
    const local = this.localCalls(engine);
    const bus = this.channel ? new BusServer(this.channel, local) : undefined;
    engine.subscribe((event) => {
      const out: ClientEvent = event.type === 'error' ? { type: 'error', error: toWireError(event.error) } : event;
      this.emit(out);
      bus?.broadcast(out);
    });
    this.role = { kind: 'owner', engine, store, local, ...(bus ? { bus } : {}) };
    this.markReady();
    this.emit({ type: 'connection', state: engine.state });
    if (this.storage === 'memory') this.emit({ type: 'storage', storage: 'memory', reason: this.storageReason });
  }

  private becomeFollower(): void {
    const bus = new BusClient(this.channel!, (event) => this.emit(event), this.deps.callTimeoutMs);
    this.role = { kind: 'follower', bus };
    this.markReady();
  }

  private async openStore(): Promise<Store> {
    if (this.config.storage === 'memory') {
      this.storage = 'memory';
      this.storageReason = 'memory storage was asked for';
      const { MemoryStore } = await import('../memory-store');
      return new MemoryStore();
    }
    const opened = await this.deps.openStore(`synkey:${this.key}`, (error) =>
      this.emit({ type: 'error', error: toWireError(error) }),
    );
    if (opened.degraded) {
      this.storage = 'memory';
      this.storageReason = opened.reason;
    }
    return opened.store;
  }

  private localCalls(engine: Engine): EngineCalls {
    return {
      send: (conv, content, cmid) => engine.send(conv, content, cmid === undefined ? {} : { cmid }),
      sendImage: (conv, file, options, cmid) =>
        engine.sendImage(conv, file, cmid === undefined ? { ...options } : { ...options, cmid }),
      sendVoice: (conv, audio, durationMs, cmid) =>
        engine.sendVoice(conv, audio, durationMs, cmid === undefined ? {} : { cmid }),
      mediaFile: (id, variant) => engine.mediaFile(id, variant),
      retry: (cmid) => engine.retry(cmid),
      remove: (cmid) => engine.remove(cmid),
      markRead: (conv) => engine.markRead(conv),
      createConversation: (options) => engine.createConversation(options),
      conversations: () => engine.conversations(),
      messages: (conv, page) => engine.messages(conv, page),
      kick: async () => engine.kick(),
      info: async (): Promise<SessionInfo> => ({
        state: engine.state,
        user: engine.user,
        storage: this.storage,
        ...(this.storageReason ? { storageReason: this.storageReason } : {}),
        owner: true,
      }),
    };
  }

  /** Calls that wait for the role to be known, then go to the local engine or to the owner. */
  private makeCalls(): EngineCalls {
    const route =
      <N extends keyof EngineCalls>(name: N) =>
      async (...args: Parameters<EngineCalls[N]>): Promise<Awaited<ReturnType<EngineCalls[N]>>> => {
        await this.ready;
        const role = this.role;
        if (this.closed) throw new ProtocolError(ErrorCode.Unavailable, 'the client is closed');
        if (role.kind === 'owner') {
          const fn = role.local[name] as (...a: unknown[]) => Promise<Awaited<ReturnType<EngineCalls[N]>>>;
          return fn(...args);
        }
        if (role.kind === 'follower') {
          const value = await role.bus.call(name, args);
          // A call waiting when this tab took over was run by this tab's own engine.
          if (name === 'info')
            return { ...(value as SessionInfo), owner: this.role.kind === 'owner' } as Awaited<
              ReturnType<EngineCalls[N]>
            >;
          return value as Awaited<ReturnType<EngineCalls[N]>>;
        }
        throw new ProtocolError(ErrorCode.Unavailable, 'the engine is not started');
      };
    return {
      send: route('send'),
      sendImage: route('sendImage'),
      sendVoice: route('sendVoice'),
      mediaFile: route('mediaFile'),
      retry: route('retry'),
      remove: route('remove'),
      markRead: route('markRead'),
      createConversation: route('createConversation'),
      conversations: route('conversations'),
      messages: route('messages'),
      kick: route('kick'),
      info: route('info'),
    };
  }

  private emit(event: ClientEvent): void {
    for (const fn of [...this.listeners]) fn(event);
  }
}
