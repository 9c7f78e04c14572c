import { type BodyOf, ErrorCode, Limits, Op, ProtocolError } from '@synkey/protocol';
import { isLinkFailure } from './errors';
import type { Changes, Store, SynKey } from './store';
import type { Requester } from './transport';

/** What the {@link Syncer} needs around it. */
export interface SyncDeps {
  store: Store;
  request: Requester;
  /** The signed-in user. */
  me(): string;
  /** Events per SYNC page (server default 200, max 500). */
  pageSize?: number;
  /** A page was applied; resolves once listeners were told. */
  onApplied(changes: Changes): Promise<void>;
  /** The server's epoch changed: local synced state was dropped. */
  onReset(): void;
  /** An ACK failed for a reason other than the link going down. */
  onError(error: Error): void;
}

/** A page is retried this often when the local SynKey moved under it, or when the server keeps resetting. */
const MAX_SURPRISES = 3;

/**
 * Catches the local store up with the user's timeline: SYNC pages until `more` is false, each page
 * applied with its new SynKey in one store transaction, and only when the page starts exactly at
 * the local SynKey; then ACK. The next page is fetched while one is applied. Calls during a
 * catch-up are coalesced into one more pass.
 */
export class Syncer {
  private running: Promise<void> | undefined;
  private again = false;
  /** The newest server SynKey a heartbeat named while a catch-up ran; checked when it ends. */
  private head: SynKey | undefined;
  private ackedSeq = -1;

  constructor(private readonly deps: SyncDeps) {}

  /**
   * Syncs until the store has everything the server had when the call was made. A call during a
   * catch-up makes it run once more and resolves with it.
   */
  sync(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const run = this.loop().finally(() => {
      this.running = undefined;
    });
    this.running = run;
    return run;
  }

  /**
   * The server named its newest SynKey `head` (a NOTIFY, or a heartbeat without news): syncs if the
   * store is behind it. During a catch-up `head` is only noted, and the catch-up runs once more only
   * if it ends still behind it, so neither costs a SYNC when the client is up to date.
   */
  async catchUpTo(head: SynKey): Promise<void> {
    if (!this.running) {
      if (!isBehind(await this.deps.store.synKey(), head)) return;
      if (!this.running) return this.sync();
    }
    if (!this.head || this.head.epoch !== head.epoch || this.head.seq < head.seq) this.head = head;
    return this.running;
  }

  /** Forgets what was acknowledged: the next catch-up acknowledges its SynKey on the new link. */
  linkChanged(): void {
    this.ackedSeq = -1;
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.catchUp();
      } catch (error) {
        // A pass that failed because its link went down is retried when a sync was asked for meanwhile.
        if (!this.again || !isLinkFailure(error)) throw error;
      }
    } while (this.again || (await this.behindHead()));
  }

  /** Whether the store is behind the head a heartbeat noted during this catch-up (consumes the note). */
  private async behindHead(): Promise<boolean> {
    if (!this.head) return false;
    const key = await this.deps.store.synKey();
    const head = this.head;
    this.head = undefined;
    return isBehind(key, head);
  }

  /**
   * Pages until `more` is false. The next page is asked for as soon as a reply says there is
   * more, so the server fetches it while this one is applied; it is applied only if it starts at
   * the SynKey the store then holds.
   */
  private async catchUp(): Promise<void> {
    const { store } = this.deps;
    let surprises = 0;
    let key = await store.synKey();
    let pending = this.page(key);
    for (;;) {
      const reply = await pending;
      if (reply.reset || (key.epoch !== 0 && reply.epoch !== key.epoch)) {
        if (++surprises > MAX_SURPRISES) throw new ProtocolError(ErrorCode.Internal, 'the server keeps resetting');
        await store.reset(reply.epoch);
        this.ackedSeq = -1;
        this.deps.onReset();
        key = await store.synKey();
        pending = this.page(key);
        continue;
      }
      if (reply.seq !== reply.from + reply.events.length) {
        throw new ProtocolError(
          ErrorCode.BadBody,
          `SYNC_REPLY from ${reply.from} with ${reply.events.length} events ends at ${reply.seq}`,
        );
      }
      const next: SynKey = { epoch: reply.epoch, seq: reply.seq };
      const ahead = reply.more ? this.page(next) : undefined;
      // Awaited below when it is used; a pass that ends before must not leave its failure unhandled.
      ahead?.catch(() => undefined);
      const changes =
        reply.from === key.seq
          ? await store.applySync(reply.events, next, { expected: key, me: this.deps.me() })
          : undefined;
      if (!changes) {
        if (++surprises > MAX_SURPRISES) throw new ProtocolError(ErrorCode.Internal, 'the SynKey keeps moving');
        key = await store.synKey();
        pending = this.page(key);
        continue;
      }
      key = next;
      await this.deps.onApplied(changes);
      this.ack(next);
      if (!ahead) return;
      pending = ahead;
    }
  }

  /** Asks for the page of the timeline after `key`. */
  private page(key: SynKey): Promise<BodyOf<typeof Op.SYNC_REPLY>> {
    return this.deps.request(Op.SYNC, { epoch: key.epoch, seq: key.seq, limit: this.deps.pageSize ?? Limits.syncPage });
  }

  /** Sends ACK without waiting (in a BATCH with whatever else goes out in the tick). A lost ACK is repeated later. */
  private ack(key: SynKey): void {
    if (key.seq === 0 || key.seq === this.ackedSeq) return;
    this.ackedSeq = key.seq;
    this.deps.request(Op.ACK, key).catch((error: Error) => {
      if (this.ackedSeq === key.seq) this.ackedSeq = -1;
      if (!isLinkFailure(error)) this.deps.onError(error);
    });
  }
}

/** Whether `key` lacks events the server's `head` has (a different epoch counts as behind). */
function isBehind(key: SynKey, head: SynKey): boolean {
  return head.epoch !== key.epoch || head.seq > key.seq;
}
