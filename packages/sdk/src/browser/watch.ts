import type { ChatMessage } from '../state';

/** The key a message keeps from `sending` to `read`: its cmid when it has one, else its server id. */
export function messageKey(m: ChatMessage): string {
  return m.cmid !== undefined ? `c:${m.cmid}` : `i:${m.id}`;
}

/** Stored messages by convSeq, then the unsent ones by local time. */
export function byPosition(a: ChatMessage, b: ChatMessage): number {
  const sa = a.convSeq ?? Number.MAX_SAFE_INTEGER;
  const sb = b.convSeq ?? Number.MAX_SAFE_INTEGER;
  return sa - sb || a.ts - b.ts;
}

/**
 * One conversation's messages as a page shows them: merges the engine's change events into the
 * loaded list (a message keeps its place from `sending` to `read`) and drops removed ones.
 */
export class MessageList {
  private readonly byKey = new Map<string, ChatMessage>();

  /** Replaces the list with a freshly loaded page. */
  load(messages: readonly ChatMessage[]): void {
    this.byKey.clear();
    this.merge(messages, []);
  }

  /** Applies a change event's messages and removals. */
  merge(messages: readonly ChatMessage[], removed: readonly string[]): void {
    for (const m of messages) this.byKey.set(messageKey(m), m);
    for (const cmid of removed) this.byKey.delete(`c:${cmid}`);
  }

  /** The messages in display order. */
  list(): ChatMessage[] {
    return [...this.byKey.values()].sort(byPosition);
  }
}
