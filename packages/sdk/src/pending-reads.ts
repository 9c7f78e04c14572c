import type { Store } from './store';

/** Where {@link PendingReads} keeps its positions in the store's meta values. */
export const PENDING_READS_KEY = 'pendingReads';

/** Parses the stored positions; anything malformed counts as none (a READ is resent by the next markRead). */
export function parsePendingReads(text: string | undefined): Map<number, number> {
  const reads = new Map<number, number>();
  if (text === undefined) return reads;
  let pairs: unknown;
  try {
    pairs = JSON.parse(text);
  } catch {
    return reads;
  }
  if (!Array.isArray(pairs)) return reads;
  for (const pair of pairs) {
    if (!Array.isArray(pair) || pair.length !== 2) continue;
    const [conv, upTo] = pair as unknown[];
    if (Number.isSafeInteger(conv) && Number.isSafeInteger(upTo) && (upTo as number) > 0) {
      reads.set(conv as number, upTo as number);
    }
  }
  return reads;
}

/**
 * The READ positions the server has not confirmed yet, per conversation. Kept in the store's meta
 * values, so that a read made offline is sent after a reload, not only after a reconnect. Every
 * change writes the whole (small) map; writes go out in call order, so the last one holds.
 */
export class PendingReads {
  private reads = new Map<number, number>();

  constructor(private readonly store: Store) {}

  /** Loads the positions a previous run left. */
  async load(): Promise<void> {
    this.reads = parsePendingReads(await this.store.meta(PENDING_READS_KEY));
  }

  /** The conversations with a position to send. */
  convs(): number[] {
    return [...this.reads.keys()];
  }

  /** The position to send for `conv`, if any. */
  get(conv: number): number | undefined {
    return this.reads.get(conv);
  }

  /** Records that `conv` is read up to `upTo` (a lower position than one pending changes nothing). */
  async add(conv: number, upTo: number): Promise<void> {
    if ((this.reads.get(conv) ?? 0) >= upTo) return;
    this.reads.set(conv, upTo);
    await this.save();
  }

  /** The server confirmed `conv` read up to `upTo`: forgets it unless a higher position came meanwhile. */
  async confirm(conv: number, upTo: number): Promise<void> {
    if (this.reads.get(conv) !== upTo) return;
    this.reads.delete(conv);
    await this.save();
  }

  /** Forgets every position (another user signed in). */
  async clear(): Promise<void> {
    this.reads.clear();
    await this.save();
  }

  private save(): Promise<void> {
    return this.store.setMeta(PENDING_READS_KEY, JSON.stringify([...this.reads]));
  }
}
