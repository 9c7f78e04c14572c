import type { Conversation, Message, SyncEvent } from '@synkey/protocol';
import { applyEvents } from './apply';
import { byActivity } from './model';
import type { Changes, MessageRange, OutboxEntry, OutboxPatch, Store, StoreTx, SynKey, TxWrites } from './store';

/** The tables of a {@link MemoryStore}. */
interface Tables {
  convs: Map<number, Conversation>;
  /** Messages by id. */
  msgs: Map<number, Message>;
  /** Per conversation: convSeq → message id. */
  byConvSeq: Map<number, Map<number, number>>;
  outbox: Map<string, OutboxEntry>;
}

/**
 * A {@link Store} in memory: for tests, Node and pages that keep nothing. Values are copied in and
 * out, as IndexedDB would. Write transactions run one at a time and either commit all of their
 * writes or, when they throw, none.
 */
export class MemoryStore implements Store {
  private key: SynKey = { epoch: 0, seq: 0 };
  private readonly metaValues = new Map<string, string>();
  private readonly tables: Tables = { convs: new Map(), msgs: new Map(), byConvSeq: new Map(), outbox: new Map() };
  private lock: Promise<unknown> = Promise.resolve();

  async meta(key: string): Promise<string | undefined> {
    return this.metaValues.get(key);
  }

  async setMeta(key: string, value: string): Promise<void> {
    this.metaValues.set(key, value);
  }

  async synKey(): Promise<SynKey> {
    return { ...this.key };
  }

  applySync(
    events: readonly SyncEvent[],
    next: SynKey,
    context: { expected: SynKey; me: string },
  ): Promise<Changes | undefined> {
    return this.write(async () => {
      if (this.key.epoch !== context.expected.epoch || this.key.seq !== context.expected.seq) return undefined;
      const tx = new MemoryTx(this.tables);
      const changes = await applyEvents(tx, structuredClone(events), context.me);
      tx.commit();
      this.key = { epoch: next.epoch, seq: next.seq };
      return structuredClone(changes);
    });
  }

  apply(events: readonly SyncEvent[], me: string): Promise<Changes> {
    return this.write(async () => {
      const tx = new MemoryTx(this.tables);
      const changes = await applyEvents(tx, structuredClone(events), me);
      tx.commit();
      return structuredClone(changes);
    });
  }

  reset(epoch: number): Promise<void> {
    return this.write(async () => {
      this.tables.convs.clear();
      this.tables.msgs.clear();
      this.tables.byConvSeq.clear();
      this.key = { epoch, seq: 0 };
    });
  }

  clear(): Promise<void> {
    return this.write(async () => {
      this.tables.convs.clear();
      this.tables.msgs.clear();
      this.tables.byConvSeq.clear();
      this.tables.outbox.clear();
      this.key = { epoch: 0, seq: 0 };
    });
  }

  async conversation(id: number): Promise<Conversation | undefined> {
    return structuredClone(this.tables.convs.get(id));
  }

  async conversations(): Promise<Conversation[]> {
    return structuredClone([...this.tables.convs.values()].sort(byActivity));
  }

  async messages(conv: number, range: MessageRange): Promise<Message[]> {
    const index = this.tables.byConvSeq.get(conv);
    if (!index) return [];
    const before = range.before ?? Number.POSITIVE_INFINITY;
    const seqs = [...index.keys()].filter((s) => s < before).sort((a, b) => a - b);
    const page = seqs.slice(Math.max(0, seqs.length - range.limit));
    return structuredClone(page.map((s) => this.tables.msgs.get(index.get(s) as number) as Message));
  }

  async outbox(): Promise<OutboxEntry[]> {
    return structuredClone([...this.tables.outbox.values()].sort((a, b) => (a.cmid < b.cmid ? -1 : 1)));
  }

  async outboxEntry(cmid: string): Promise<OutboxEntry | undefined> {
    return structuredClone(this.tables.outbox.get(cmid));
  }

  putOutbox(entry: OutboxEntry): Promise<void> {
    return this.write(async () => {
      this.tables.outbox.set(entry.cmid, structuredClone(entry));
    });
  }

  updateOutbox(cmid: string, patch: OutboxPatch): Promise<OutboxEntry | undefined> {
    return this.write(async () => {
      const entry = this.tables.outbox.get(cmid);
      if (!entry) return undefined;
      const next: OutboxEntry = { ...entry, ...structuredClone(patch) };
      if (next.error === undefined) delete next.error;
      if (next.upload === undefined) delete next.upload;
      this.tables.outbox.set(cmid, next);
      return structuredClone(next);
    });
  }

  removeOutbox(cmid: string): Promise<boolean> {
    return this.write(async () => this.tables.outbox.delete(cmid));
  }

  async close(): Promise<void> {}

  /** Runs write transactions one after another, as IndexedDB does for overlapping scopes. */
  private write<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }
}

/** Reads the tables and buffers the writes of one transaction; {@link MemoryTx.commit} applies them. */
class MemoryTx implements StoreTx {
  private writes: TxWrites | undefined;

  constructor(private readonly tables: Tables) {}

  async conversations(ids: readonly number[]): Promise<(Conversation | undefined)[]> {
    return ids.map((id) => this.tables.convs.get(id));
  }

  async messages(ids: readonly number[]): Promise<(Message | undefined)[]> {
    return ids.map((id) => this.tables.msgs.get(id));
  }

  async outboxHas(cmids: readonly string[]): Promise<Set<string>> {
    return new Set(cmids.filter((cmid) => this.tables.outbox.has(cmid)));
  }

  async write(writes: TxWrites): Promise<void> {
    this.writes = writes;
  }

  commit(): void {
    const { convs, msgs, sent } = this.writes ?? { convs: [], msgs: [], sent: [] };
    for (const conv of convs) this.tables.convs.set(conv.id, conv);
    for (const msg of msgs) {
      this.tables.msgs.set(msg.id, msg);
      const index = this.tables.byConvSeq.get(msg.conv) ?? new Map<number, number>();
      this.tables.byConvSeq.set(msg.conv, index.set(msg.convSeq, msg.id));
    }
    for (const cmid of sent) this.tables.outbox.delete(cmid);
  }
}
