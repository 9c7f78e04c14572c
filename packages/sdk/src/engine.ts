import {
  type BodyOf,
  type Conversation,
  type ConvKind,
  ErrorCode,
  Limits,
  type Member,
  type Message,
  MsgKind,
  Op,
  ProtocolError,
  ReceiptKind,
  type SyncEvent,
} from '@synkey/protocol';
import { type ReconnectPolicy, reconnectPolicy, type SendPolicy, sendPolicy } from './backoff';
import { Connection, type ConnectionState, linkUrls, type TransportMode } from './connection';
import { isLinkFailure } from './errors';
import type { FetchLike } from './http-transport';
import { newClientMsgId } from './ids';
import type { MediaFetch } from './media/http';
import { readImageSize } from './media/image-size';
import type { MediaKit } from './media/kit';
import { checkImage, checkVoice, type ImageOptions } from './media/validate';
import { memberOf } from './model';
import { Outbox } from './outbox';
import { defaultRateLimit, type RateLimit } from './pacer';
import { PendingReads } from './pending-reads';
import { type ChatMessage, outboxMessage, storedMessage } from './state';
import type { Changes, OutboxEntry, Store } from './store';
import { Syncer } from './sync';
import type { Notify, Requester, Transport } from './transport';
import type { WebSocketConstructor } from './ws-transport';

/** Options of {@link createEngine}. */
export interface EngineOptions {
  /** The server's base URL, e.g. `https://chat.example.com`; the engine uses `/ws` and `/link` below it. */
  server: string;
  /** A fixed token. Give `getToken` instead to let the engine fetch a new one when it expires. */
  token?: string;
  /** Fetches a token from the site's backend; called at start and again on TOKEN_EXPIRED. */
  getToken?: () => string | Promise<string>;
  /** This device's id; default: one made on first start and kept in the store. */
  deviceId?: string;
  /**
   * The user the token is for (its `sub`), when the caller knows it: on a first start the engine
   * is then signed in before it ever connects, so messages written offline carry the right sender.
   * Without it the user is learnt from the first AUTH_OK.
   */
  user?: string;
  /** `auto` (default) prefers the WebSocket and falls back to HTTP while it keeps probing. */
  transport?: TransportMode;
  /** Where state lives; default: a new {@link MemoryStore} (closed with the engine). */
  store?: Store;
  /** The WebSocket constructor; default: the global one. In Node, pass `ws`'s. */
  WebSocket?: WebSocketConstructor;
  /** The fetch function for the short link; default: the global one. */
  fetch?: FetchLike;
  /** The WebSocket URL, when it is not `server` with ws(s) and `/ws`. */
  wsUrl?: string;
  /** Names the client software in AUTH. */
  client?: string;
  /** The reply timeout of requests other than SEND (default 10 s). */
  requestTimeoutMs?: number;
  /** Time allowed to open a link and get AUTH_OK (default 10 s). */
  connectTimeoutMs?: number;
  /** Events per SYNC page (default 200, max 500). */
  syncPageSize?: number;
  /** How long the server may hold a POLL on the short link (default 25 s). */
  pollWaitMs?: number;
  /** Overrides of the send retry policy. */
  sendPolicy?: Partial<SendPolicy>;
  /** Overrides of the reconnect policy. */
  reconnectPolicy?: Partial<ReconnectPolicy>;
  /**
   * The client's request pace (default 40/s, burst 80), to stay under the server's limit per user;
   * `false` to send at once.
   */
  rateLimit?: RateLimit | false;
  /** A source of numbers in [0, 1) for backoff jitter. */
  random?: () => number;
  /** The fetch function for the media API (image uploads, downloads); default: the global one. */
  mediaFetch?: MediaFetch;
  /** How images and voice notes are uploaded. */
  media?: MediaOptions;
}

/** How images and voice notes are uploaded; see docs/PROTOCOL.md §13. */
export interface MediaOptions {
  /** Bytes per image chunk (default 512 KiB, `Limits.imageChunk`; the server caps it at 4 MiB). */
  chunkSize?: number;
  /** Image chunks in flight at once, across all uploads (default 4). */
  concurrency?: number;
  /** Bytes per voice part (default 16 KiB, at most `Limits.maxVoicePart`). */
  voicePartSize?: number;
  /** Voice parts waiting for their PART_ACK at once (default 4). */
  voiceWindow?: number;
}

/** Default image chunks in flight at once. */
export const UPLOAD_CONCURRENCY = 4;

/** A change the engine tells its listeners about. Read the new values through the engine. */
export type EngineEvent =
  /** These conversations were created or changed (title, members, last message, unread, positions). */
  | { type: 'conversations'; convs: number[] }
  /** Messages of `conv` that were added or changed; `removed` lists cmids of removed failed messages. */
  | { type: 'messages'; conv: number; messages: ChatMessage[]; removed: string[] }
  /**
   * Member positions (delivered, read) in `conv` rose, so the states of its stored messages may have
   * changed; the messages themselves are not sent again. Derive their states from `members` with
   * `withPositions` (`user`: the signed-in user), as `MessageList` does.
   */
  | { type: 'positions'; conv: number; user: string; members: Member[] }
  /**
   * The server's store was replaced (new epoch), or another user signed in: local conversations and
   * messages were dropped and are synced anew.
   */
  | { type: 'reset' }
  | { type: 'connection'; state: ConnectionState }
  /** Something went wrong that no call returned: a server ERROR, a failed token source, a store write. */
  | { type: 'error'; error: Error };

/** Receives {@link EngineEvent}s. */
export type EngineListener = (event: EngineEvent) => void;

/** Options of {@link Engine.createConversation}. */
export interface CreateConversation {
  /** {@link ConvKind}: 1 direct, 2 group. */
  kind: ConvKind;
  /** The other members' user ids (the caller is added). A direct conversation has exactly one. */
  members: string[];
  /** A group's title. */
  title?: string;
}

/** Which page of messages {@link Engine.messages} returns. */
export interface MessagePage {
  /** Messages with a convSeq below this; default: the newest, followed by unsent ones. */
  before?: number;
  /** At most this many stored messages (default 50, max 200). */
  limit?: number;
}

/** The client engine: one user's link, sync, outbox and local state. */
export interface Engine {
  /** The connection state. */
  readonly state: ConnectionState;
  /** The signed-in user's id, once known (after the first connect; kept in the store). */
  readonly user: string | undefined;
  /**
   * Sends a text message: stores it as `sending` before the first attempt and resolves its cmid.
   * The outbox retries it (with the same cmid) until the server acknowledges it or it `failed`.
   * Rejects with INVALID for an empty or too long text. Given a `cmid` (a caller that must be able
   * to repeat the call safely), a second call with the same cmid queues nothing new.
   */
  send(conv: number, content: { text: string }, options?: { cmid?: string }): Promise<string>;
  /**
   * Sends an image: checks it (INVALID for an empty or non-Blob file, MEDIA_TOO_LARGE over
   * `Limits.maxImageBytes`, UNSUPPORTED_MEDIA for a type that is not `image/*`), stores it with its
   * file as `sending` before any network and resolves its cmid. The message shows `local` (the file
   * and its dimensions) and `progress`; the file is uploaded in chunks (resumable across restarts),
   * then sent as a kind-2 message with the caption as its text, in conversation order.
   */
  sendImage(conv: number, file: Blob, options?: ImageOptions & { cmid?: string }): Promise<string>;
  /**
   * Sends a voice note (`durationMs` as recorded): checked like an image (`audio/*`, at most
   * `Limits.maxVoiceBytes` and `Limits.maxVoiceMs`), stored before any network, sent in acked parts
   * over the current link, then as a kind-3 message. Resolves its cmid at once.
   */
  sendVoice(conv: number, audio: Blob, durationMs: number, options?: { cmid?: string }): Promise<string>;
  /** Sends a `failed` message again with the same cmid (an upload resumes). Does nothing for one that is not failed. */
  retry(cmid: string): Promise<void>;
  /**
   * Deletes a `failed` message, or cancels an image or voice message whose file is still uploading.
   * Rejects with INVALID for one whose SEND may have gone.
   */
  remove(cmid: string): Promise<void>;
  /**
   * A stored media file (`variant` `thumb`: an image's thumbnail), fetched with the user's token.
   * Rejects with NOT_FOUND when it does not exist or the user may not see it.
   */
  mediaFile(id: string, variant?: 'full' | 'thumb'): Promise<Blob>;
  /** Marks the conversation read up to its last message, locally at once and on the server when connected. */
  markRead(conv: number): Promise<void>;
  /** Creates a conversation on the server (a direct one that exists is returned as it is). */
  createConversation(options: CreateConversation): Promise<Conversation>;
  /** The local conversations, most recent activity first. */
  conversations(): Promise<Conversation[]>;
  /**
   * A page of a conversation's messages, ascending: from the store, completed from the server
   * (HISTORY) when the store lacks some and the engine is connected. The newest page ends with the
   * unsent (`sending`, `failed`) messages.
   */
  messages(conv: number, page?: MessagePage): Promise<ChatMessage[]>;
  /**
   * Calls `listener` for every {@link EngineEvent}; returns the function that stops it. A listener
   * that throws does not stop the others; its error is rethrown asynchronously.
   */
  subscribe(listener: EngineListener): () => void;
  /** Reconnects now instead of waiting out the backoff; call on `online` and when the page becomes visible. */
  kick(): void;
  /** Closes the link and stops all timers. Unsent messages stay in the store for the next start. */
  close(): Promise<void>;
}

/**
 * {@link createEngine} on a given store (the browser's: IndexedDB, or a MemoryStore it loaded on
 * demand), without pulling in the default MemoryStore. `ownsStore`: close the store with the engine.
 */
export function createEngineOn(store: Store, options: Omit<EngineOptions, 'store'>, ownsStore = false): Engine {
  return new ClientEngine(options, store, ownsStore);
}

const DEFAULT_TIMEOUT_MS = 10_000;

class ClientEngine implements Engine {
  private readonly listeners = new Set<EngineListener>();
  private readonly connection: Connection;
  private readonly syncer: Syncer;
  private readonly outbox: Outbox;
  /** The media side, loaded on first use (see {@link ClientEngine.media}). */
  private mediaKit: Promise<MediaKit> | undefined;
  private readonly started: Promise<void>;
  /** READ positions not yet confirmed by the server, per conversation (kept in the store). */
  private readonly pendingReads: PendingReads;
  private me = '';
  /** The current link is past its user check: NOTIFYs may start syncs. */
  private linkSynced = false;
  private closed = false;

  constructor(
    private readonly options: Omit<EngineOptions, 'store'>,
    private readonly store: Store,
    private readonly ownsStore: boolean,
  ) {
    const { token, getToken } = options;
    if (token === undefined && getToken === undefined) throw new TypeError('createEngine needs a token or getToken');
    this.pendingReads = new PendingReads(this.store);
    const random = options.random ?? Math.random;
    const request: Requester = (op, body, timeoutMs) => this.connection.request(op, body, timeoutMs);
    this.connection = new Connection({
      server: options.server,
      wsUrl: options.wsUrl,
      mode: options.transport ?? 'auto',
      getToken: getToken ?? (() => token as string),
      refreshable: getToken !== undefined,
      client: options.client,
      WebSocket: options.WebSocket,
      fetch: options.fetch,
      policy: { ...reconnectPolicy, ...options.reconnectPolicy },
      rateLimit: options.rateLimit ?? defaultRateLimit,
      requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS,
      connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_TIMEOUT_MS,
      pollWaitMs: options.pollWaitMs,
      random,
      onUp: (link) => void this.onUp(link),
      onDown: () => {
        this.linkSynced = false;
        this.outbox.setReady(false);
      },
      onNotify: (n) => void this.onNotify(n).catch((error: Error) => this.report(error)),
      onHead: (head) => void this.onHead(head).catch((error: Error) => this.report(error)),
      onState: (state) => this.emit({ type: 'connection', state }),
      onError: (error) => this.report(error),
    });
    this.syncer = new Syncer({
      store: this.store,
      request,
      me: () => this.me,
      pageSize: options.syncPageSize,
      onApplied: (changes) => this.publish(changes),
      onReset: () => this.emit({ type: 'reset' }),
      onError: (error) => this.report(error),
    });
    const policy = { ...sendPolicy, ...options.sendPolicy };
    this.outbox = new Outbox({
      store: this.store,
      request,
      policy,
      random,
      newId: newClientMsgId,
      onAck: (entry, ack) => this.onAck(entry, ack),
      onChange: (conv, entries, removed) =>
        this.emit({
          type: 'messages',
          conv,
          messages: entries.map((e) => outboxMessage(e, this.me, this.outbox.progress(e.cmid))),
          removed,
        }),
      onError: (error) => this.report(error),
      transfer: async (entry, hooks) => (await this.media()).transfer(entry, hooks),
      cancelTransfer: (entry) => void this.mediaKit?.then((kit) => kit.cancel(entry)),
    });
    this.started = this.start();
    this.started.catch((error: Error) => this.report(error));
  }

  get state(): ConnectionState {
    return this.connection.state;
  }

  get user(): string | undefined {
    return this.me || undefined;
  }

  async send(conv: number, content: { text: string }, options: { cmid?: string } = {}): Promise<string> {
    await this.ready();
    return this.outbox.send(conv, content, options.cmid);
  }

  async sendImage(conv: number, file: Blob, options: ImageOptions & { cmid?: string } = {}): Promise<string> {
    await this.ready();
    const { upload, caption } = checkImage(file, options);
    const size = await readImageSize(file).catch(() => undefined);
    if (size) {
      upload.width = size.width;
      upload.height = size.height;
    }
    const content = { kind: MsgKind.Image, file, upload, ...(caption === undefined ? {} : { text: caption }) };
    return this.outbox.sendMedia(conv, content, options.cmid);
  }

  async sendVoice(conv: number, audio: Blob, durationMs: number, options: { cmid?: string } = {}): Promise<string> {
    await this.ready();
    const upload = checkVoice(audio, durationMs);
    return this.outbox.sendMedia(conv, { kind: MsgKind.Voice, file: audio, upload }, options.cmid);
  }

  async mediaFile(id: string, variant: 'full' | 'thumb' = 'full'): Promise<Blob> {
    await this.ready();
    if (typeof id !== 'string' || id.length === 0 || id.length > 256) {
      throw new ProtocolError(ErrorCode.Invalid, 'bad media id');
    }
    return (await this.media()).http.file(id, variant === 'thumb' ? 'thumb' : 'full');
  }

  /**
   * The media side: loaded and made on first use, by an upload, a resumed upload or a download
   * (photos and voice notes are checked and queued without it, so that works offline). A failed
   * load rejects with UNAVAILABLE and is tried again next time.
   */
  private media(): Promise<MediaKit> {
    const options = this.options;
    this.mediaKit ??= import('./media/kit').then(
      ({ createMediaKit }) =>
        createMediaKit({
          ...options.media,
          concurrency: options.media?.concurrency ?? UPLOAD_CONCURRENCY,
          base: linkUrls(options.server).media,
          fetch: options.mediaFetch ?? ((url, init) => globalThis.fetch(url, init)),
          token: (refused) => this.connection.currentToken(refused),
          timeoutMs: options.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS,
          request: (op, body, timeoutMs) => this.connection.request(op, body, timeoutMs),
          policy: { ...sendPolicy, ...options.sendPolicy },
          random: options.random ?? Math.random,
          newId: newClientMsgId,
        }),
      (error: unknown) => {
        this.mediaKit = undefined;
        throw new ProtocolError(
          ErrorCode.Unavailable,
          `the media code could not be loaded: ${(error as Error).message}`,
        );
      },
    );
    return this.mediaKit;
  }

  async retry(cmid: string): Promise<void> {
    await this.ready();
    await this.outbox.retry(cmid);
  }

  async remove(cmid: string): Promise<void> {
    await this.ready();
    await this.outbox.remove(cmid);
  }

  async markRead(conv: number): Promise<void> {
    await this.ready();
    const record = await this.store.conversation(conv);
    if (!record || !this.me) return;
    const upTo = record.lastSeq;
    if (upTo === 0 || (memberOf(record, this.me)?.read ?? 0) >= upTo) return;
    // Kept before it is applied: a crash in between sends a READ already shown, never loses one.
    await this.pendingReads.add(conv, upTo);
    await this.publish(
      await this.store.apply([{ receipt: { conv, user: this.me, kind: ReceiptKind.Read, upTo } }], this.me),
    );
    if (this.connection.link) await this.sendRead(conv);
  }

  async createConversation(options: CreateConversation): Promise<Conversation> {
    await this.ready();
    const body: BodyOf<typeof Op.CONV_CREATE> = { kind: options.kind, members: options.members };
    if (options.title !== undefined) body.title = options.title;
    const { conv } = await this.connection.request(Op.CONV_CREATE, body);
    await this.publish(await this.store.apply([{ conv }], this.me));
    return (await this.store.conversation(conv.id)) ?? conv;
  }

  async conversations(): Promise<Conversation[]> {
    await this.ready();
    return this.store.conversations();
  }

  async messages(conv: number, page: MessagePage = {}): Promise<ChatMessage[]> {
    await this.ready();
    const limit = Math.min(Math.max(1, page.limit ?? Limits.historyPage), Limits.maxHistoryPage);
    const record = await this.store.conversation(conv);
    const before = page.before ?? (record ? record.lastSeq + 1 : undefined);
    let stored = await this.store.messages(conv, { before, limit });
    if (!isComplete(stored, before, limit) && this.connection.link) {
      try {
        const reply = await this.connection.request(Op.HISTORY, before ? { conv, before, limit } : { conv, limit });
        await this.publish(
          await this.store.apply(
            reply.msgs.map((msg): SyncEvent => ({ msg })),
            this.me,
          ),
        );
        stored = await this.store.messages(conv, { before, limit });
      } catch (error) {
        if (!isLinkFailure(error)) throw error;
      }
    }
    const current = (await this.store.conversation(conv)) ?? record;
    const out = stored.map((m) => storedMessage(m, current, this.me));
    if (page.before === undefined) {
      for (const entry of await this.store.outbox()) {
        if (entry.conv === conv) out.push(outboxMessage(entry, this.me, this.outbox.progress(entry.cmid)));
      }
    }
    return out;
  }

  subscribe(listener: EngineListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  kick(): void {
    this.connection.kick();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.connection.close();
    this.outbox.close();
    await this.started.catch(() => undefined);
    if (this.ownsStore) await this.store.close();
  }

  private async start(): Promise<void> {
    let device = this.options.deviceId ?? (await this.store.meta('device'));
    if (!device) {
      device = newClientMsgId();
      await this.store.setMeta('device', device);
    }
    this.me = (await this.store.meta('user')) ?? '';
    if (!this.me && this.options.user) {
      this.me = this.options.user;
      await this.store.setMeta('user', this.me);
    }
    await this.pendingReads.load();
    await this.outbox.load();
    if (!this.closed) this.connection.start(device);
  }

  private async ready(): Promise<void> {
    if (this.closed) throw new ProtocolError(ErrorCode.Unavailable, 'the engine is closed');
    await this.started;
  }

  private async onUp(link: Transport): Promise<void> {
    try {
      if (link.auth.user !== this.me) await this.switchUser(link.auth.user);
      if (this.connection.link !== link) return;
      this.syncer.linkChanged();
      this.linkSynced = true;
      await this.syncer.sync();
    } catch (error) {
      if (!isLinkFailure(error)) this.report(error as Error);
    }
    if (this.connection.link !== link) return;
    this.outbox.setReady(true);
    for (const conv of this.pendingReads.convs()) void this.sendRead(conv);
  }

  /**
   * The link names a user other than the store's. Another user signed in on this store: nothing of
   * the previous one may be shown or sent. Or the first user: the messages written before the
   * first connect are theirs and are shown again with their sender.
   */
  private async switchUser(user: string): Promise<void> {
    const first = !this.me;
    if (!first) {
      await this.store.clear();
      await this.outbox.reload();
      await this.pendingReads.clear();
      this.emit({ type: 'reset' });
    }
    this.me = user;
    await this.store.setMeta('user', user);
    if (first) this.emitOutbox(await this.store.outbox());
  }

  /** Tells listeners about outbox entries, per conversation. */
  private emitOutbox(entries: readonly OutboxEntry[]): void {
    const byConv = new Map<number, OutboxEntry[]>();
    for (const e of entries) byConv.set(e.conv, [...(byConv.get(e.conv) ?? []), e]);
    for (const [conv, list] of byConv) {
      this.emit({
        type: 'messages',
        conv,
        messages: list.map((e) => outboxMessage(e, this.me, this.outbox.progress(e.cmid))),
        removed: [],
      });
    }
  }

  private async onNotify(notify: Notify): Promise<void> {
    // Until the link's first sync starts, that sync will fetch whatever this NOTIFY announces.
    if (!this.linkSynced) return;
    // A NOTIFY during a catch-up costs another pass only if that catch-up ends short of it.
    await this.syncer.catchUpTo(notify).catch((error: Error) => {
      if (!isLinkFailure(error)) this.report(error);
    });
  }

  /** A heartbeat named the server's newest SynKey: a client behind it missed a NOTIFY and syncs now (as for a NOTIFY). */
  private async onHead(head: Notify): Promise<void> {
    if (!this.linkSynced) return;
    await this.syncer.catchUpTo(head).catch((error: Error) => {
      if (!isLinkFailure(error)) this.report(error);
    });
  }

  private async onAck(entry: OutboxEntry, ack: BodyOf<typeof Op.SEND_ACK>): Promise<void> {
    const msg: Message = {
      id: ack.id,
      conv: entry.conv,
      sender: this.me,
      cmid: entry.cmid,
      convSeq: ack.convSeq,
      ts: ack.ts,
      kind: entry.kind,
    };
    if (entry.text !== undefined) msg.text = entry.text;
    if (entry.upload?.media) msg.media = entry.upload.media;
    await this.publish(await this.store.apply([{ msg }], this.me));
  }

  private async sendRead(conv: number): Promise<void> {
    const upTo = this.pendingReads.get(conv);
    if (upTo === undefined) return;
    try {
      await this.connection.request(Op.READ, { conv, upTo });
    } catch (error) {
      if (isLinkFailure(error)) return;
      this.report(error as Error);
    }
    await this.pendingReads.confirm(conv, upTo).catch((error: Error) => this.report(error));
  }

  /**
   * Tells listeners what a store write changed, at once (in the order of the writes): the messages
   * added or changed, with their states from the conversation as the write left it; member
   * positions that rose, without the messages whose states they move; the conversations.
   */
  private async publish(changes: Changes): Promise<void> {
    this.outbox.sent(changes.sent);
    for (const [conv, msgs] of changes.messages) {
      const record = changes.records.get(conv);
      this.emit({ type: 'messages', conv, messages: msgs.map((m) => storedMessage(m, record, this.me)), removed: [] });
    }
    for (const conv of changes.positions) {
      const record = changes.records.get(conv);
      if (record) this.emit({ type: 'positions', conv, user: this.me, members: record.members });
    }
    if (changes.convs.length > 0) this.emit({ type: 'conversations', convs: changes.convs });
  }

  private report(error: Error): void {
    this.emit({ type: 'error', error });
  }

  private emit(event: EngineEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (error) {
        // A failing listener must not break the engine or the other listeners; surface it like an event handler's.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}

/**
 * True when `stored` (the newest stored messages below `before`, ascending) is the whole page
 * `[from, before)`: as many messages as the page has, the first at its start. ConvSeqs are dense on
 * the server; the store may hold islands (a catch-up half done, HISTORY pages), which this tells.
 */
function isComplete(stored: readonly Message[], before: number | undefined, limit: number): boolean {
  if (before === undefined) return false;
  const from = Math.max(1, before - limit);
  const count = before - from;
  return count <= 0 || (stored.length >= count && stored[stored.length - count]?.convSeq === from);
}
