// The soak's clients: one real SDK engine per user (ws's WebSocket, Node's fetch, a MemoryStore),
// all in this process, and what each of them saw: acks and failures of its own messages, and the
// messages of others as they arrived (a second server id for one message, or one that overtook a
// later one of the same sender, is noted on the spot).
import {
  createEngine,
  type Engine,
  type EngineEvent,
  MemoryStore,
  type ReconnectPolicy,
  type SendPolicy,
  type TransportMode,
} from '@synkey/sdk';
import WebSocket from 'ws';
import { mintToken } from '../src/auth';
import { Rng } from './fuzz-corpus';
import type { ClientView, SentRecord, StoredMessage } from './soak-check';
import { keyOf, parseText, userName } from './soak-world';

/** How the clients are made. */
export interface FleetOptions {
  /** The URL the engines connect to (the proxy's). */
  url: string;
  secret: string;
  seed: number;
  reconnect?: Partial<ReconnectPolicy>;
  send?: Partial<SendPolicy>;
}

/** One simulated device. */
export class SoakClient {
  readonly store = new MemoryStore();
  readonly engine: Engine;
  readonly user: string;
  /** Its own messages, by cmid, once `send()` resolved. */
  readonly mine = new Map<string, SentRecord>();
  readonly liveDuplicates: string[] = [];
  readonly liveReorders: string[] = [];
  readonly errors: Record<string, number> = {};
  /** Why its messages went `failed` (the outbox's reason, by error code). */
  readonly failReasons: Record<string, number> = {};
  online = false;
  /** Times its link went down after being up. */
  drops = 0;
  resets = 0;
  private readonly acked = new Set<string>();
  private readonly failed = new Set<string>();
  /** Per message key from others: the server ids it arrived under. */
  private readonly seen = new Map<string, number>();
  /** Per `conv/sender`: the highest n that arrived. */
  private readonly highest = new Map<string, number>();
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    readonly index: number,
    readonly transport: TransportMode,
    options: FleetOptions,
  ) {
    this.user = userName(index);
    const rng = new Rng((options.seed * 31 + index * 7919) >>> 0);
    const user = this.user;
    this.engine = createEngine({
      server: options.url,
      getToken: () => mintToken(options.secret, user),
      WebSocket,
      transport,
      deviceId: `${user}-device`,
      store: this.store,
      reconnectPolicy: options.reconnect,
      sendPolicy: options.send,
      random: () => rng.next(),
    });
    this.engine.subscribe((e) => this.onEvent(e));
  }

  /** Sends `record`'s text after every earlier send of this client resolved (so call order is send order). */
  send(record: SentRecord): void {
    this.chain = this.chain.then(async () => {
      try {
        record.cmid = await this.engine.send(record.key.conv, { text: record.text });
      } catch (e) {
        this.count(`send() rejected: ${(e as Error).message}`);
        return;
      }
      this.mine.set(record.cmid, record);
      if (this.acked.has(record.cmid)) record.acked = true;
    });
  }

  /** Resolves once every `send()` so far resolved. */
  settled(): Promise<unknown> {
    return this.chain;
  }

  /** Retries every failed message of this client; returns how many. */
  async retryFailed(): Promise<number> {
    let n = 0;
    for (const entry of await this.store.outbox()) {
      if (entry.state !== 'failed') continue;
      const record = this.mine.get(entry.cmid);
      if (record) record.retries++;
      await this.engine.retry(entry.cmid);
      n++;
    }
    return n;
  }

  /** The final state for the check (read the store after the engine is closed). */
  async view(convs: readonly number[]): Promise<ClientView> {
    const messages = new Map<number, StoredMessage[]>();
    for (const conv of convs) {
      const list = await this.store.messages(conv, { limit: Number.MAX_SAFE_INTEGER });
      messages.set(
        conv,
        list.map(({ id, convSeq, sender, text }) => ({ id, convSeq, sender, text })),
      );
    }
    const outbox = (await this.store.outbox()).map(({ cmid, conv, state }) => ({ cmid, conv, state }));
    return {
      index: this.index,
      messages,
      outbox,
      liveDuplicates: this.liveDuplicates,
      liveReorders: this.liveReorders,
    };
  }

  private onEvent(e: EngineEvent): void {
    if (e.type === 'connection') {
      if (e.state === 'online') this.online = true;
      else if (this.online) {
        this.online = false;
        this.drops++;
      }
    } else if (e.type === 'error') {
      this.count(`${(e.error as { code?: string }).code ?? e.error.name}`);
    } else if (e.type === 'reset') {
      this.resets++;
    } else if (e.type === 'messages') {
      for (const m of e.messages) {
        if (m.sender === this.user) {
          if (!m.cmid) continue;
          if (m.id !== undefined) {
            this.acked.add(m.cmid);
            this.failed.delete(m.cmid);
            const record = this.mine.get(m.cmid);
            if (record) record.acked = true;
          } else if (m.state === 'failed' && !this.failed.has(m.cmid)) {
            this.failed.add(m.cmid);
            const reason = m.error?.split(':')[0] ?? 'no reason';
            this.failReasons[reason] = (this.failReasons[reason] ?? 0) + 1;
            const record = this.mine.get(m.cmid);
            if (record) record.failures++;
          } else if (m.state === 'sending') this.failed.delete(m.cmid);
        } else if (m.id !== undefined) this.arrived(m.id, m.conv, m.text);
      }
    }
  }

  private arrived(id: number, conv: number, text: string | undefined): void {
    const key = parseText(text);
    if (!key) return; // the check reports messages nobody sent from the store
    const k = keyOf(key);
    const before = this.seen.get(k);
    if (before !== undefined) {
      if (before !== id) this.liveDuplicates.push(k);
      return;
    }
    this.seen.set(k, id);
    const lane = `${conv}/${key.sender}`;
    const top = this.highest.get(lane) ?? 0;
    if (key.n < top) this.liveReorders.push(k);
    else this.highest.set(lane, key.n);
  }

  private count(what: string): void {
    this.errors[what] = (this.errors[what] ?? 0) + 1;
  }
}
