import { type BodyOf, ErrorCode, Limits, MsgKind, Op, ProtocolError } from '@synkey/protocol';
import { nextSendAttempt, type SendPolicy } from './backoff';
import { describe, isPermanent, ServerError } from './errors';
import type { OutboxEntry, Store } from './store';
import type { Requester } from './transport';

const LONE_SURROGATE = /\p{Cs}/u;
/** What the {@link Outbox} needs around it. */
export interface OutboxDeps {
  store: Store;
  request: Requester;
  policy: SendPolicy;
  random: () => number;
  newId: () => string;
  /** The server acknowledged an entry: store the message (this removes the entry from the store). */
  onAck(entry: OutboxEntry, ack: BodyOf<typeof Op.SEND_ACK>): Promise<void>;
  /** Entries were added or changed state, or were removed. */
  onChange(conv: number, entries: OutboxEntry[], removed: string[]): void;
  onError(error: Error): void;
}

interface Pending {
  entry: OutboxEntry;
  /** When this entry joined the queue (send, retry or start): the send budget counts from here. */
  queuedAt: number;
  attempts: number;
  inFlight: boolean;
}

/** The queue of one conversation, in the order its SENDs go out. */
interface Lane {
  items: Pending[];
  /** No attempt starts before this time (backoff). */
  retryAt: number;
  /** An attempt failed: once nothing is in flight, send again from the head. */
  rewinding: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
  deadline: ReturnType<typeof setTimeout> | undefined;
}

/**
 * The persistent send queue.
 *
 * An entry is in the store before its first attempt, with the same cmid on every attempt. Each
 * conversation has its own lane, and a later message never overtakes an earlier unacknowledged one
 * in it: a lane has at most `policy.window` SENDs in flight, in order (conversations run side by
 * side, and SENDs made in one tick share a BATCH). When an attempt fails or the link drops, the lane
 * stops, waits until nothing of it is in flight and for the backoff, then sends every
 * unacknowledged entry again from the head; the server answers the ones it already stored with
 * their original ack.
 *
 * Giving up: an entry fails after `policy.maxAttempts` attempts (a RATE_LIMITED refusal is no
 * attempt) or when `policy.budgetMs` passed since it was queued (also while offline). The entries
 * queued behind it in its conversation fail with it (rather than wait for it, or go ahead of it);
 * `retry` queues an entry again, behind whatever is queued then. A server answer that no retry can
 * change (FORBIDDEN, NOT_FOUND, INVALID) fails only that entry. An entry that fails but turns out
 * to be stored (its ack arrives late, or a sync brings it) becomes sent.
 */
export class Outbox {
  private readonly lanes = new Map<number, Lane>();
  private ready = false;
  private closed = false;

  constructor(private readonly deps: OutboxDeps) {}

  /** Queues the entries left `sending` in the store (from an earlier run). */
  async load(): Promise<void> {
    for (const entry of await this.deps.store.outbox()) if (entry.state === 'sending') this.enqueue(entry);
  }

  /** Drops the queue and loads it again from the store. */
  async reload(): Promise<void> {
    this.clearLanes();
    await this.load();
  }

  /** Stores a text message as `sending`, queues it and resolves its cmid. */
  async send(conv: number, content: { text: string }, cmid?: string): Promise<string> {
    if (!Number.isSafeInteger(conv) || conv <= 0) throw invalid(`no conversation ${conv}`);
    const { text } = content;
    if (typeof text !== 'string' || text.trim() === '') throw invalid('the text is empty');
    if (text.length > Limits.maxText) throw invalid(`the text is longer than ${Limits.maxText} characters`);
    if (LONE_SURROGATE.test(text)) throw invalid('the text has a broken character (a lone UTF-16 surrogate)');
    if (cmid !== undefined) {
      if (typeof cmid !== 'string' || cmid.length === 0 || cmid.length > Limits.maxId) throw invalid('bad clientMsgId');
      // A repeated call (a page re-sending after losing the answer) queues nothing new.
      if (await this.deps.store.outboxEntry(cmid)) return cmid;
    }
    const entry: OutboxEntry = {
      cmid: cmid ?? this.deps.newId(),
      conv,
      kind: MsgKind.Text,
      text,
      createdAt: Date.now(),
      state: 'sending',
    };
    await this.deps.store.putOutbox(entry);
    this.deps.onChange(conv, [entry], []);
    this.enqueue(entry);
    return entry.cmid;
  }

  /** Queues a failed entry again with the same cmid. Does nothing for an entry that is not failed. */
  async retry(cmid: string): Promise<void> {
    const entry = await this.deps.store.outboxEntry(cmid);
    if (entry?.state !== 'failed') return;
    const next = await this.deps.store.updateOutbox(cmid, { state: 'sending', error: undefined });
    if (!next) return;
    this.deps.onChange(next.conv, [next], []);
    this.enqueue(next);
  }

  /** Deletes a failed entry; rejects with INVALID for one that is still sending. */
  async remove(cmid: string): Promise<void> {
    const entry = await this.deps.store.outboxEntry(cmid);
    if (!entry) return;
    if (entry.state !== 'failed') throw invalid('only a failed message can be removed');
    if (await this.deps.store.removeOutbox(cmid)) this.deps.onChange(entry.conv, [], [cmid]);
  }

  /** Starts (after the sync that follows a connect) or stops sending. */
  setReady(ready: boolean): void {
    this.ready = ready;
    if (ready) for (const conv of this.lanes.keys()) this.pump(conv);
  }

  /** Entries a sync showed to be stored on the server leave the queue. */
  sent(cmids: readonly string[]): void {
    if (cmids.length === 0) return;
    const done = new Set(cmids);
    for (const [conv, lane] of this.lanes) {
      const gone = lane.items.filter((p) => done.has(p.entry.cmid));
      if (gone.length === 0) continue;
      this.drop(conv, gone);
      this.pump(conv);
    }
  }

  /** Stops all timers; nothing is sent any more. */
  close(): void {
    this.closed = true;
    this.clearLanes();
  }

  private enqueue(entry: OutboxEntry): void {
    let lane = this.lanes.get(entry.conv);
    if (!lane) {
      lane = { items: [], retryAt: 0, rewinding: false, timer: undefined, deadline: undefined };
      this.lanes.set(entry.conv, lane);
    }
    lane.items.push({ entry, queuedAt: Date.now(), attempts: 0, inFlight: false });
    this.pump(entry.conv);
  }

  private pump(conv: number): void {
    const lane = this.lanes.get(conv);
    if (!lane || this.closed) return;
    this.armDeadline(conv, lane);
    if (!this.ready || lane.items.length === 0) return;
    const wait = lane.retryAt - Date.now();
    if (wait > 0) {
      clearTimeout(lane.timer);
      lane.timer = setTimeout(() => this.pump(conv), wait);
      return;
    }
    let inFlight = lane.items.filter((p) => p.inFlight).length;
    if (lane.rewinding) {
      if (inFlight > 0) return;
      lane.rewinding = false;
    }
    for (const p of lane.items) {
      if (inFlight >= this.deps.policy.window) break;
      if (p.inFlight) continue;
      inFlight++;
      void this.attempt(conv, p);
    }
  }

  private async attempt(conv: number, p: Pending): Promise<void> {
    p.inFlight = true;
    p.attempts++;
    const { cmid, kind, text } = p.entry;
    const body: BodyOf<typeof Op.SEND> = text === undefined ? { cmid, conv, kind } : { cmid, conv, kind, text };
    // The server refuses this one unless the message queued before it is stored: order holds whatever it refuses.
    const lane = this.lanes.get(conv);
    const prev = lane?.items[lane.items.indexOf(p) - 1];
    if (prev) body.prev = prev.entry.cmid;
    let ack: BodyOf<typeof Op.SEND_ACK>;
    try {
      ack = await this.deps.request(Op.SEND, body, this.deps.policy.ackTimeoutMs);
    } catch (error) {
      p.inFlight = false;
      await this.failed(conv, p, error as Error).catch((e: Error) => this.deps.onError(e));
      this.pump(conv);
      return;
    }
    p.inFlight = false;
    this.drop(conv, [p]);
    this.pump(conv);
    await this.deps.onAck(p.entry, ack).catch((e: Error) => this.deps.onError(e));
  }

  private async failed(conv: number, p: Pending, error: Error): Promise<void> {
    const lane = this.lanes.get(conv);
    const at = lane?.items.indexOf(p) ?? -1;
    if (!lane || at < 0) return;
    if (isPermanent(error)) return this.fail(conv, [p], error);
    // The server asked to slow down and did nothing: that attempt does not count, the budget still does.
    if (error instanceof ServerError && (error.code === ErrorCode.RateLimited || error.code === ErrorCode.OutOfOrder)) {
      p.attempts--;
    }
    const retryMs = error instanceof ServerError ? error.retryMs : undefined;
    const now = Date.now();
    const decision = nextSendAttempt(p.attempts, now - p.queuedAt, retryMs, this.deps.policy, this.deps.random);
    if (!decision.retry) return this.fail(conv, lane.items.slice(at), error);
    lane.rewinding = true;
    lane.retryAt = Math.max(lane.retryAt, now + decision.delayMs);
  }

  private async fail(conv: number, items: Pending[], error: Error): Promise<void> {
    this.drop(conv, items);
    const reason = describe(error);
    const failed: OutboxEntry[] = [];
    for (const p of items) {
      // Gone from the store means a sync or a late ack showed it was stored: it is sent, not failed.
      const entry = await this.deps.store.updateOutbox(p.entry.cmid, { state: 'failed', error: reason });
      if (entry) failed.push(entry);
    }
    if (failed.length > 0) this.deps.onChange(conv, failed, []);
  }

  private drop(conv: number, items: readonly Pending[]): void {
    const lane = this.lanes.get(conv);
    if (!lane) return;
    lane.items = lane.items.filter((p) => !items.includes(p));
    if (lane.items.length > 0) return;
    clearTimeout(lane.timer);
    clearTimeout(lane.deadline);
    lane.timer = lane.deadline = undefined;
    lane.retryAt = 0;
    lane.rewinding = false;
  }

  private armDeadline(conv: number, lane: Lane): void {
    clearTimeout(lane.deadline);
    lane.deadline = undefined;
    const head = lane.items[0];
    if (!head) return;
    const left = head.queuedAt + this.deps.policy.budgetMs - Date.now();
    lane.deadline = setTimeout(() => this.expire(conv), Math.max(0, left));
  }

  /** The head of a lane ran out of time while not in flight (offline, or in backoff): the lane fails. */
  private expire(conv: number): void {
    const lane = this.lanes.get(conv);
    const head = lane?.items[0];
    if (!lane || !head || head.inFlight) return;
    const { budgetMs } = this.deps.policy;
    if (Date.now() - head.queuedAt < budgetMs) {
      this.armDeadline(conv, lane);
      return;
    }
    const error = new ProtocolError(ErrorCode.Timeout, `not acknowledged within ${budgetMs} ms`);
    this.fail(conv, [...lane.items], error).catch((e: Error) => this.deps.onError(e));
  }

  private clearLanes(): void {
    for (const lane of this.lanes.values()) {
      clearTimeout(lane.timer);
      clearTimeout(lane.deadline);
    }
    this.lanes.clear();
  }
}

function invalid(message: string): ProtocolError {
  return new ProtocolError(ErrorCode.Invalid, message);
}
