// Drives a set of load clients: closed-loop (max throughput) and open-loop (fixed rate, latency)
// runs, counting acks and deliveries. Clients 2k and 2k+1 are peers in a 1:1 conversation.
import { performance } from 'node:perf_hooks';
import { mintToken } from '@synkey/server';
import { type Summary, summarize } from '../stats';
import { taggedText } from '../texts';
import { RelayLoadClient } from './relay-client';
import { SynkeyLoadClient } from './synkey-client';
import type { LoadClient, LoadEvents } from './types';

/** Which server the clients talk to. */
export type LoadKind = 'synkey' | 'relay';

/** What a closed-loop run measured. */
export interface ThroughputResult {
  sent: number;
  acked: number;
  delivered: number;
  errors: number;
  /** How long clients kept sending. */
  sendMs: number;
  /** From the first send until the last message was delivered (or the drain timed out). */
  elapsedMs: number;
  ackedPerSec: number;
  deliveredPerSec: number;
}

/** What an open-loop run measured (latencies in ms, of the sends after the warm-up). */
export interface LatencyResult {
  offeredPerSec: number;
  achievedPerSec: number;
  sent: number;
  delivered: number;
  errors: number;
  ack: Summary;
  delivery: Summary;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `fn` over `items`, at most `limit` at a time. */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** The index of the client that sent `tag` (tags are `<client>.<n>`). */
const senderOf = (tag: string) => Number(tag.slice(0, tag.indexOf('.')));

/** A generator's clients and its bookkeeping of what was sent, acked and delivered. */
export class Generator {
  clients: LoadClient[] = [];
  /** Send times of messages not acked yet, and of messages not delivered yet. */
  private readonly unacked = new Map<string, number>();
  private readonly undelivered = new Map<string, number>();
  private ackLatencies: number[] = [];
  private deliveryLatencies: number[] = [];
  private recordFrom = Number.POSITIVE_INFINITY;
  private afterAck: ((client: number) => void) | undefined;
  private counter = 0;
  private sent = 0;
  private acked = 0;
  private delivered = 0;
  private errors = 0;
  private lastDelivery = 0;
  /** The first error the server answered with, for the report. */
  firstError = '';

  private readonly events: LoadEvents = {
    acked: (tag) => {
      const t = this.unacked.get(tag);
      if (t === undefined) return;
      this.acked++;
      this.unacked.delete(tag);
      if (t >= this.recordFrom) this.ackLatencies.push(performance.now() - t);
      this.afterAck?.(senderOf(tag));
    },
    delivered: (tag) => {
      this.lastDelivery = performance.now();
      const t = this.undelivered.get(tag);
      if (t === undefined) return;
      this.delivered++;
      this.undelivered.delete(tag);
      if (t >= this.recordFrom) this.deliveryLatencies.push(this.lastDelivery - t);
    },
    failed: (reason) => {
      this.errors++;
      if (!this.firstError) this.firstError = reason;
    },
  };

  /**
   * Opens one link per user (`users[2k]` and `users[2k+1]` are peers; for Synkey the first of each
   * pair creates their conversation when `pairs`). Waits until every link is idle.
   */
  async connect(kind: LoadKind, url: string, secret: string, users: readonly string[], pairs: boolean): Promise<void> {
    const clients: LoadClient[] = new Array(users.length);
    await pool(users, 64, async (user, i) => {
      clients[i] =
        kind === 'synkey'
          ? await SynkeyLoadClient.open(url, user, await mintToken(secret, user), this.events)
          : await RelayLoadClient.open(url, user, this.events);
    });
    this.clients = clients;
    if (!pairs) return;
    await pool(
      Array.from({ length: users.length >> 1 }, (_, k) => k),
      64,
      async (k) => {
        const a = clients[2 * k] as LoadClient;
        const b = clients[2 * k + 1] as LoadClient;
        if (a instanceof SynkeyLoadClient && b instanceof SynkeyLoadClient) {
          a.conv = b.conv = await a.direct(b.user);
        } else if (a instanceof RelayLoadClient && b instanceof RelayLoadClient) {
          a.peer = b.user;
          b.peer = a.user;
        }
      },
    );
    await this.quiet();
  }

  /** Waits until no client has a sync in flight or owed (at most `timeoutMs`). */
  async quiet(timeoutMs = 30_000): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (!this.clients.some((c) => c.busy)) return true;
      if (performance.now() > deadline) return false;
      await sleep(20);
    }
  }

  private reset(recordFrom: number): void {
    this.unacked.clear();
    this.undelivered.clear();
    this.ackLatencies = [];
    this.deliveryLatencies = [];
    this.recordFrom = recordFrom;
    this.sent = this.acked = this.delivered = this.errors = 0;
  }

  private sendFrom(i: number): void {
    const tag = `${i}.${this.counter++}`;
    const now = performance.now();
    this.unacked.set(tag, now);
    this.undelivered.set(tag, now);
    this.sent++;
    (this.clients[i] as LoadClient).send(tag, taggedText(tag, this.counter));
  }

  /** Waits until every sent message was delivered, or `timeoutMs` passed without progress. */
  private async drain(timeoutMs: number): Promise<void> {
    let seen = -1;
    let since = performance.now();
    while (this.delivered < this.sent) {
      if (this.delivered !== seen) {
        seen = this.delivered;
        since = performance.now();
      } else if (performance.now() - since > timeoutMs) return;
      await sleep(10);
    }
  }

  /**
   * Closed loop: every client keeps `window` sends unacknowledged for `durationMs`, then the
   * generator waits for the deliveries to drain. Measures what the server sustains.
   */
  async throughput(durationMs: number, window: number): Promise<ThroughputResult> {
    this.reset(Number.POSITIVE_INFINITY);
    const start = performance.now();
    const end = start + durationMs;
    this.afterAck = (i) => {
      if (performance.now() < end) this.sendFrom(i);
    };
    for (let w = 0; w < window; w++) for (let i = 0; i < this.clients.length; i++) this.sendFrom(i);
    await sleep(durationMs);
    const sendMs = performance.now() - start;
    this.afterAck = undefined;
    await this.drain(10_000);
    const elapsedMs = Math.max(this.lastDelivery, start + sendMs) - start;
    return {
      sent: this.sent,
      acked: this.acked,
      delivered: this.delivered,
      errors: this.errors,
      sendMs,
      elapsedMs,
      ackedPerSec: (this.acked / Math.max(sendMs, elapsedMs)) * 1000,
      deliveredPerSec: (this.delivered / elapsedMs) * 1000,
    };
  }

  /**
   * Open loop: sends `rate` messages a second, from the clients in turn, for `durationMs`; latencies
   * of sends after `warmupMs` are kept.
   */
  async latency(rate: number, durationMs: number, warmupMs: number): Promise<LatencyResult> {
    const start = performance.now();
    this.reset(start + warmupMs);
    let next = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const elapsed = performance.now() - start;
        const due = Math.floor((Math.min(elapsed, durationMs) * rate) / 1000);
        while (this.sent < due) this.sendFrom(next++ % this.clients.length);
        if (elapsed >= durationMs) {
          clearInterval(timer);
          resolve();
        }
      }, 2);
    });
    const sendMs = performance.now() - start;
    await this.drain(10_000);
    return {
      offeredPerSec: rate,
      achievedPerSec: (this.sent / sendMs) * 1000,
      sent: this.sent,
      delivered: this.delivered,
      errors: this.errors,
      ack: summarize(this.ackLatencies),
      delivery: summarize(this.deliveryLatencies),
    };
  }

  /** Closes every link. */
  close(): void {
    for (const c of this.clients) c.close();
    this.clients = [];
  }
}
