import type { Member } from '@synkey/protocol';
import { type ChatMessage, withPositions } from '../state';

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
 * loaded list (a message keeps its place from `sending` to `read`), drops removed ones, and derives
 * the states of stored messages from `positions` events.
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

  /**
   * Applies a `positions` event: every stored message takes the state the member positions give
   * it (`me`: the signed-in user). Returns whether any state changed.
   */
  positions(members: readonly Member[], me: string): boolean {
    let changed = false;
    for (const [key, m] of this.byKey) {
      const next = withPositions(m, members, me);
      if (next === m) continue;
      this.byKey.set(key, next);
      changed = true;
    }
    return changed;
  }

  /** The messages in display order. */
  list(): ChatMessage[] {
    return [...this.byKey.values()].sort(byPosition);
  }
}
