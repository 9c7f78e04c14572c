import type { MessageRow } from './rows';

/** Rough heap cost of a cached row beyond its text. */
const ROW_OVERHEAD = 256;

/**
 * Recently stored or read message rows by id, oldest dropped first past `maxBytes` (texts counted at two
 * bytes a unit). Messages never change once stored, so an entry stays right for as long as the
 * transaction that stored it commits; the store clears the cache whenever a write is rolled back (an id
 * may then be used again).
 */
export class MessageCache {
  private readonly rows = new Map<number, MessageRow>();
  private bytes = 0;

  constructor(private readonly maxBytes = 32 * 1024 * 1024) {}

  get(id: number): MessageRow | undefined {
    return this.rows.get(id);
  }

  put(row: MessageRow): void {
    const old = this.rows.get(row.id);
    if (old) this.bytes -= sizeOf(old);
    this.rows.set(row.id, row);
    this.bytes += sizeOf(row);
    for (const [id, oldest] of this.rows) {
      if (this.bytes <= this.maxBytes) break;
      this.rows.delete(id);
      this.bytes -= sizeOf(oldest);
    }
  }

  clear(): void {
    this.rows.clear();
    this.bytes = 0;
  }
}

function sizeOf(row: MessageRow): number {
  return ROW_OVERHEAD + 2 * ((row.text?.length ?? 0) + row.sender.length + row.cmid.length);
}
