import type { Conversation, Media } from '@synkey/protocol';
import { ErrorCode, ProtocolError } from '@synkey/protocol/lite';
import type { SendPolicy } from '../backoff';
import type { ConnectionState, TransportMode } from '../connection';
import type { CreateConversation, MediaOptions, MessagePage } from '../engine';
import { newClientMsgId } from '../ids';
import type { ImageOptions } from '../media/validate';
import { byActivity } from '../model';
import type { ChatMessage } from '../state';
import type { CallName, ClientEvent, EngineCalls, SessionConfig, SessionInfo, StorageKind } from './api';
import type { EngineHost } from './engine-host';
import type { WorkerApi } from './expose-host';
import { MediaUrls, type MediaVariant } from './media-urls';
import * as Rpc from './rpc';
import { tokenSubject } from './token-subject';
import { MessageList } from './watch';
import { fromWireError } from './wire-error';

/** Where the engine runs. `auto` tries a SharedWorker, then a dedicated Worker, then the page itself. */
export type Runtime = 'auto' | 'shared-worker' | 'worker' | 'main';

/** Options of {@link createClient}. */
export interface ClientOptions {
  /** The Synkey server's base URL, e.g. `https://chat.example.com`. */
  server: string;
  /** A fixed token for the user. Give `getToken` instead to let the client fetch a new one when it expires. */
  token?: string;
  /** Fetches a token from your backend; called at start and whenever the server says the token expired. */
  getToken?: () => string | Promise<string>;
  /** `auto` (default) prefers the WebSocket and falls back to the HTTP short link. */
  transport?: TransportMode;
  /** The WebSocket URL when it is not `server` with `/ws`. */
  wsUrl?: string;
  /** Where the engine runs; default `auto`. */
  runtime?: Runtime;
  /** Makes the engine's worker, e.g. from an inlined `blob:` URL. Default: the SDK's worker module. */
  createWorker?: (shared: boolean) => Worker | SharedWorker;
  /** `memory` keeps nothing across reloads. Default: IndexedDB, or memory when it is unavailable. */
  storage?: StorageKind;
  /** A call that gets no answer from the engine in this time rejects with TIMEOUT. Default 30 s. */
  callTimeoutMs?: number;
  /** Names the client software in AUTH. */
  client?: string;
  /**
   * Overrides of the send retry policy: `ackTimeoutMs` (10 s), `maxAttempts` (5), `budgetMs` (40 s:
   * a message not acknowledged this long after `send` is `failed`), `backoff` ({ minMs, maxMs }).
   * Applies when this page starts the user's engine.
   */
  sendPolicy?: Partial<SendPolicy>;
  /**
   * How images and voice notes upload: `chunkSize` (512 KiB), `concurrency` (4 image chunks in
   * flight), `voicePartSize` (16 KiB), `voiceWindow` (4 parts awaiting their ack). Applies when
   * this page starts the user's engine.
   */
  media?: MediaOptions;
}

/** The state shown to users: the link's state, or `degraded` when it is up but nothing persists. */
export type ClientState = ConnectionState;

/** A Synkey client: one user's chat, driven by an engine in a worker (or in the page). */
export interface SynkeyClient {
  /** Where the engine ended up running. */
  readonly runtime: Exclude<Runtime, 'auto'>;
  /**
   * Sends a text message and resolves its clientMsgId at once (state `sending`); the engine
   * retries with the same id until the server acknowledges it, or marks it `failed`.
   */
  send(conversationId: number, content: { text: string }): Promise<string>;
  /**
   * Sends an image (a File or Blob) and resolves its clientMsgId at once. The message appears with
   * `local` (the file and its dimensions, for a preview), then `progress` while it uploads, and is
   * sent when the upload is done, after the messages sent before it. Rejects at once, queuing
   * nothing, with INVALID (empty, not a Blob), MEDIA_TOO_LARGE (over `Limits.maxImageBytes`) or
   * UNSUPPORTED_MEDIA (a type that is not `image/*`).
   */
  sendImage(conversationId: number, file: Blob, options?: ImageOptions): Promise<string>;
  /**
   * Sends a voice note (e.g. from {@link recordVoice}) lasting `durationMs`, and resolves its
   * clientMsgId at once; like {@link SynkeyClient.sendImage}, with `audio/*`, `Limits.maxVoiceBytes`
   * and `Limits.maxVoiceMs`.
   */
  sendVoice(conversationId: number, audio: Blob, durationMs: number): Promise<string>;
  /** Sends a failed message again with the same clientMsgId (an upload resumes where it stopped). */
  retry(clientMsgId: string): Promise<void>;
  /** Drops a failed message, or cancels an image or voice message whose file is still uploading. */
  remove(clientMsgId: string): Promise<void>;
  /**
   * An object URL of a message's media file (`thumb`: an image's thumbnail), fetched by the engine
   * with the user's token. Cached (recently used first, up to 200), and revoked by `close()`: ask
   * again whenever you render rather than keeping URLs. Rejects with NOT_FOUND when the file does
   * not exist or the user may not see it.
   */
  mediaUrl(media: Media | string, variant?: MediaVariant): Promise<string>;
  /** Marks a conversation read up to its newest message. */
  markRead(conversationId: number): Promise<void>;
  /** Creates a conversation; a direct one that exists is returned as it is. */
  createConversation(options: CreateConversation): Promise<Conversation>;
  /** The conversations, most recent activity first. */
  conversations(): Promise<Conversation[]>;
  /** A page of a conversation's messages, oldest first, each with its state. */
  messages(conversationId: number, page?: MessagePage): Promise<ChatMessage[]>;
  /** The engine's connection state, user, storage and whether this tab owns the connection. */
  info(): Promise<SessionInfo>;
  /** Every engine event; returns the function that stops it. */
  subscribe(listener: (event: ClientEvent) => void): () => void;
  /** Calls `cb` with the whole conversation list now and after every change. */
  watchConversations(cb: (conversations: Conversation[]) => void): () => void;
  /** Calls `cb` with one conversation's newest messages now and after every change. */
  watchMessages(conversationId: number, cb: (messages: ChatMessage[]) => void, page?: MessagePage): () => void;
  /** Calls `cb` with the connection state now and on every change (`degraded` also when storage is memory-only). */
  watchState(cb: (state: ClientState) => void): () => void;
  /** Errors that no call returned (server errors, storage failures). */
  onError(cb: (error: ProtocolError) => void): () => void;
  /** Leaves the engine (the last tab to leave closes it). Unsent messages stay queued. */
  close(): Promise<void>;
}

interface Backend {
  runtime: Exclude<Runtime, 'auto'>;
  calls: EngineCalls & { close(): Promise<void> };
  /** Rejects when the engine's worker died. */
  dead: Promise<never>;
  dispose(): void;
}

/** How long a worker may take to load its code and answer (it fetches the engine over the network in the embed). */
const PING_TIMEOUT_MS = 15_000;

function timeout(ms: number, what: string): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new ProtocolError(ErrorCode.Timeout, what)), ms));
}

/** Loads the engine host, to run the engine in the page (the fallback when no worker can start). */
export const loadEngineHost = (): Promise<{ createHost: () => EngineHost }> => import('./expose-host');

/** How a client starts its engine: its worker, and the engine host for the in-page fallback. */
export interface EngineLoaders {
  /** Makes the engine's worker (a SharedWorker when `shared`). */
  createWorker: (shared: boolean) => Worker | SharedWorker;
  /** Loads the engine into the page, for when workers are forbidden (CSP) or missing. */
  loadHost: () => Promise<{ createHost: () => EngineHost }>;
}

/** Creates a client with explicit engine loaders (the script-tag embed brings its own). */
export function createClientWith(options: ClientOptions, loaders: EngineLoaders): SynkeyClient {
  if (options.token === undefined && options.getToken === undefined) {
    throw new ProtocolError(ErrorCode.Invalid, 'createClient needs a token or getToken');
  }
  return new Client(options, loaders);
}

class Client implements SynkeyClient {
  runtime: Exclude<Runtime, 'auto'> = 'main';
  private readonly listeners = new Set<(event: ClientEvent) => void>();
  private readonly backend: Promise<Backend>;
  private readonly timeoutMs: number;
  private readonly urls = new MediaUrls((id, variant) => this.call('mediaFile', [id, variant]));
  private closed = false;
  /** The token fetched to learn the user, handed to the engine's first getToken instead of fetching again. */
  private firstToken: Promise<string> | undefined;
  private readonly onOnline = () => void this.call('kick', []).catch(() => undefined);
  private readonly onVisible = () => {
    if (document.visibilityState === 'visible') this.onOnline();
  };

  constructor(
    private readonly options: ClientOptions,
    private readonly loaders: EngineLoaders,
  ) {
    this.timeoutMs = options.callTimeoutMs ?? 30_000;
    this.backend = this.start();
    this.backend.catch(() => undefined);
    if (typeof window !== 'undefined') window.addEventListener('online', this.onOnline);
    if (typeof document !== 'undefined') document.addEventListener('visibilitychange', this.onVisible);
  }

  send(conversationId: number, content: { text: string }): Promise<string> {
    return this.call('send', [conversationId, content, newClientMsgId()]);
  }
  sendImage(conversationId: number, file: Blob, options: ImageOptions = {}): Promise<string> {
    return this.call('sendImage', [conversationId, file, options, newClientMsgId()]);
  }
  sendVoice(conversationId: number, audio: Blob, durationMs: number): Promise<string> {
    return this.call('sendVoice', [conversationId, audio, durationMs, newClientMsgId()]);
  }
  mediaUrl(media: Media | string, variant: MediaVariant = 'full'): Promise<string> {
    if (this.closed) return Promise.reject(new ProtocolError(ErrorCode.Unavailable, 'the client is closed'));
    return this.urls.get(media, variant);
  }
  retry(cmid: string): Promise<void> {
    return this.call('retry', [cmid]);
  }
  remove(cmid: string): Promise<void> {
    return this.call('remove', [cmid]);
  }
  markRead(conv: number): Promise<void> {
    return this.call('markRead', [conv]);
  }
  createConversation(o: CreateConversation): Promise<Conversation> {
    return this.call('createConversation', [o]);
  }
  conversations(): Promise<Conversation[]> {
    return this.call('conversations', []);
  }
  messages(conv: number, page?: MessagePage): Promise<ChatMessage[]> {
    return this.call('messages', page ? [conv, page] : [conv]);
  }
  info(): Promise<SessionInfo> {
    return this.call('info', []);
  }

  subscribe(listener: (event: ClientEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  watchConversations(cb: (conversations: Conversation[]) => void): () => void {
    let stopped = false;
    let scheduled = false;
    const refresh = () => {
      if (scheduled) return;
      scheduled = true;
      queueMicrotask(() => {
        scheduled = false;
        this.conversations().then(
          (list) => !stopped && cb(list.sort(byActivity)),
          () => undefined,
        );
      });
    };
    const stop = this.subscribe((e) => {
      if (e.type === 'conversations' || e.type === 'reset') refresh();
    });
    refresh();
    return () => {
      stopped = true;
      stop();
    };
  }

  watchMessages(conv: number, cb: (messages: ChatMessage[]) => void, page?: MessagePage): () => void {
    const list = new MessageList();
    let stopped = false;
    let loaded = false;
    const early: ClientEvent[] = [];
    const emit = () => !stopped && cb(list.list());
    /** Applies a change event of this conversation; returns whether the list changed. */
    const apply = (e: ClientEvent): boolean => {
      if (e.type === 'positions') return list.positions(e.members, e.user);
      if (e.type === 'messages') list.merge(e.messages, e.removed);
      return true;
    };
    const load = () =>
      this.messages(conv, page).then(
        (msgs) => {
          list.load(msgs);
          loaded = true;
          for (const e of early.splice(0)) apply(e);
          emit();
        },
        () => undefined,
      );
    const stop = this.subscribe((e) => {
      if (e.type === 'reset') {
        loaded = false;
        void load();
      } else if ((e.type === 'messages' || e.type === 'positions') && e.conv === conv) {
        if (!loaded) early.push(e);
        else if (apply(e)) emit();
      }
    });
    void load();
    return () => {
      stopped = true;
      stop();
    };
  }

  watchState(cb: (state: ClientState) => void): () => void {
    let memory = false;
    let link: ConnectionState = 'connecting';
    const emit = () => cb(memory && link === 'online' ? 'degraded' : link);
    const stop = this.subscribe((e) => {
      if (e.type === 'connection') link = e.state;
      else if (e.type === 'storage') memory = e.storage === 'memory';
      else return;
      emit();
    });
    this.info().then(
      (i) => {
        link = i.state;
        memory = i.storage === 'memory';
        emit();
      },
      () => undefined,
    );
    return stop;
  }

  onError(cb: (error: ProtocolError) => void): () => void {
    return this.subscribe((e) => {
      if (e.type === 'error') cb(fromWireError(e.error));
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (typeof window !== 'undefined') window.removeEventListener('online', this.onOnline);
    if (typeof document !== 'undefined') document.removeEventListener('visibilitychange', this.onVisible);
    this.urls.clear();
    const backend = await this.backend.catch(() => undefined);
    if (!backend) return;
    await Promise.race([backend.calls.close(), backend.dead, timeout(2000, 'close')]).catch(() => undefined);
    backend.dispose();
    this.listeners.clear();
  }

  /** Runs an engine call; rejects (never hangs) when the engine died, the client closed or time ran out. */
  private async call<N extends CallName>(
    name: N,
    args: Parameters<EngineCalls[N]>,
  ): Promise<Awaited<ReturnType<EngineCalls[N]>>> {
    if (this.closed) throw new ProtocolError(ErrorCode.Unavailable, 'the client is closed');
    const backend = await this.backend;
    const fn = backend.calls[name] as (...a: unknown[]) => Promise<Awaited<ReturnType<EngineCalls[N]>>>;
    try {
      return await Promise.race([fn(...args), backend.dead, timeout(this.timeoutMs, `${name} got no answer`)]);
    } catch (error) {
      throw fromWireError(error);
    }
  }

  private emit = (event: ClientEvent) => {
    // My just-uploaded image: its file is here already, so mediaUrl(media) needs no download.
    if (event.type === 'messages')
      for (const m of event.messages) if (m.local && m.media) this.urls.seed(m.media.id, m.local.file);
    for (const fn of [...this.listeners]) fn(event);
  };

  private config(): SessionConfig {
    const o = this.options;
    const user = o.token ? tokenSubject(o.token) : undefined;
    return {
      server: o.server,
      ...(o.wsUrl ? { wsUrl: o.wsUrl } : {}),
      ...(o.transport ? { transport: o.transport } : {}),
      ...(o.token ? { token: o.token } : {}),
      ...(user ? { user } : {}),
      ...(o.storage ? { storage: o.storage } : {}),
      ...(o.client ? { client: o.client } : {}),
      ...(o.sendPolicy ? { sendPolicy: o.sendPolicy } : {}),
      ...(o.media ? { media: o.media } : {}),
    };
  }

  private async resolveUser(config: SessionConfig): Promise<SessionConfig> {
    if (config.user || !this.options.getToken) return config;
    const token = Promise.resolve(this.options.getToken());
    this.firstToken = token;
    const user = tokenSubject(await token);
    return user ? { ...config, user } : config;
  }

  /** The getToken the engine calls: the token fetched at start the first time, then new ones. */
  private readonly engineToken = async (): Promise<string> => {
    const first = this.firstToken;
    this.firstToken = undefined;
    return first ?? (this.options.getToken as () => string | Promise<string>)();
  };

  private async start(): Promise<Backend> {
    // The worker starts while the token is fetched (the token names the user whose store it opens).
    const config = this.resolveUser(this.config());
    config.catch(() => undefined);
    const want = this.options.runtime ?? 'auto';
    const failures: string[] = [];
    if ((want === 'auto' || want === 'shared-worker') && typeof SharedWorker === 'function') {
      try {
        return await this.viaWorker(config, true);
      } catch (e) {
        await config; // a token that could not be fetched fails the start, whatever the runtime
        failures.push(`SharedWorker: ${(e as Error).message}`);
      }
    }
    if ((want === 'auto' || want === 'worker') && typeof Worker === 'function') {
      try {
        return await this.viaWorker(config, false);
      } catch (e) {
        await config;
        failures.push(`Worker: ${(e as Error).message}`);
      }
    }
    if (want === 'auto' || want === 'main') return this.inPage(config);
    throw new ProtocolError(ErrorCode.Unavailable, `the ${want} runtime is not available (${failures.join('; ')})`);
  }

  private async viaWorker(pending: Promise<SessionConfig>, shared: boolean): Promise<Backend> {
    const worker = (this.options.createWorker ?? this.loaders.createWorker)(shared);
    const endpoint = shared ? (worker as SharedWorker).port : (worker as Worker);
    let died: (reason: unknown) => void = () => undefined;
    const dead = new Promise<never>((_, reject) => {
      died = reject;
    });
    dead.catch(() => undefined);
    const onError = (e: Event) =>
      died(
        new ProtocolError(
          ErrorCode.Unavailable,
          `the engine's worker failed${(e as ErrorEvent).message ? `: ${(e as ErrorEvent).message}` : ''}`,
        ),
      );
    worker.addEventListener('error', onError);
    const remote = Rpc.wrap<WorkerApi>(endpoint as Worker);
    const kill = () => {
      remote[Rpc.releaseProxy]();
      if (shared) (worker as SharedWorker).port.close();
      else (worker as Worker).terminate();
    };
    try {
      await Promise.race([remote.ping(), dead, timeout(PING_TIMEOUT_MS, 'the worker did not start')]);
    } catch (error) {
      kill();
      throw error;
    }
    let releaseTab: (() => void) | undefined;
    let tabLock: string | undefined;
    if (shared && navigator.locks) {
      tabLock = `synkey-tab:${newClientMsgId()}`;
      await new Promise<void>((held) => {
        void navigator.locks.request(tabLock as string, () => {
          held();
          return new Promise<void>((resolve) => {
            releaseTab = resolve;
          });
        });
      });
    }
    let config: SessionConfig;
    try {
      config = await Promise.race([pending, dead]);
    } catch (error) {
      releaseTab?.();
      kill();
      throw error;
    }
    const getToken = this.options.getToken ? Rpc.proxy(this.engineToken) : undefined;
    const session = await Promise.race([remote.open(config, getToken, Rpc.proxy(this.emit), tabLock), dead]);
    this.runtime = shared ? 'shared-worker' : 'worker';
    return {
      runtime: this.runtime,
      calls: session as unknown as EngineCalls & { close(): Promise<void> },
      dead,
      dispose: () => {
        worker.removeEventListener('error', onError);
        died(new ProtocolError(ErrorCode.Unavailable, 'the client is closed'));
        (session as unknown as Rpc.Releasable)[Rpc.releaseProxy]();
        releaseTab?.();
        kill();
      },
    };
  }

  private async inPage(pending: Promise<SessionConfig>): Promise<Backend> {
    const [{ createHost }, config] = await Promise.all([this.loaders.loadHost(), pending]);
    const host = createHost();
    const session = host.open(config, {
      ...(this.options.getToken ? { getToken: this.engineToken } : {}),
      onEvent: this.emit,
    });
    this.runtime = 'main';
    return { runtime: 'main', calls: session, dead: new Promise<never>(() => undefined), dispose: () => undefined };
  }
}
