import type { Conversation, Message, SyncEvent } from '@synkey/protocol';
import { applyEvents } from './apply';
import { byActivity } from './model';
import type { Changes, MessageRange, OutboxEntry, OutboxPatch, Store, StoreTx, SynKey } from './store';

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

/** Buffers the writes of one transaction over the tables; {@link MemoryTx.commit} applies them. */
class MemoryTx implements StoreTx {
  private readonly convs = new Map<number, Conversation>();
  private readonly msgs = new Map<number, Message>();
  private readonly deleted = new Set<string>();

  constructor(private readonly tables: Tables) {}

  async conversation(id: number): Promise<Conversation | undefined> {
    return this.convs.get(id) ?? this.tables.convs.get(id);
  }

  async putConversation(conv: Conversation): Promise<void> {
    this.convs.set(conv.id, conv);
  }

  async message(id: number): Promise<Message | undefined> {
    return this.msgs.get(id) ?? this.tables.msgs.get(id);
  }

  async putMessage(msg: Message): Promise<void> {
    this.msgs.set(msg.id, msg);
  }

  async messagesBetween(conv: number, after: number, upTo: number): Promise<Message[]> {
    const found = new Map<number, Message>();
    const index = this.tables.byConvSeq.get(conv);
    if (index && upTo - after <= index.size) {
      for (let s = after + 1; s <= upTo; s++) {
        const id = index.get(s);
        if (id !== undefined) found.set(s, this.tables.msgs.get(id) as Message);
      }
    } else if (index) {
      for (const [s, id] of index) if (s > after && s <= upTo) found.set(s, this.tables.msgs.get(id) as Message);
    }
    for (const m of this.msgs.values()) {
      if (m.conv === conv && m.convSeq > after && m.convSeq <= upTo) found.set(m.convSeq, m);
    }
    return [...found.values()].sort((a, b) => a.convSeq - b.convSeq);
  }

  async outboxEntry(cmid: string): Promise<OutboxEntry | undefined> {
    return this.deleted.has(cmid) ? undefined : this.tables.outbox.get(cmid);
  }

  async deleteOutbox(cmid: string): Promise<void> {
    this.deleted.add(cmid);
  }

  commit(): void {
    for (const [id, conv] of this.convs) this.tables.convs.set(id, conv);
    for (const [id, msg] of this.msgs) {
      this.tables.msgs.set(id, msg);
      const index = this.tables.byConvSeq.get(msg.conv) ?? new Map<number, number>();
      this.tables.byConvSeq.set(msg.conv, index.set(msg.convSeq, id));
    }
    for (const cmid of this.deleted) this.tables.outbox.delete(cmid);
  }
}
