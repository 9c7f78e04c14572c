import type { Conversation, Message, SyncEvent } from '@synkey/protocol';
import { mergeConversation, sameConversation, sameMessage, samePositions, withMessage, withReceipt } from './model';
import type { Changes, TxWrites } from './store';

/** What the store holds of the records a page of events touches, read before it is applied. */
export interface Snapshot {
  /** By id; undefined for one that is not stored. */
  convs: ReadonlyMap<number, Conversation | undefined>;
  /** By id; undefined for one that is not stored. */
  msgs: ReadonlyMap<number, Message | undefined>;
  /** The cmids (of those asked for) that have an outbox entry. */
  outbox: ReadonlySet<string>;
}

/** The ids of the conversations and messages `events` touch, each once. */
export function idsOf(events: readonly SyncEvent[]): { convs: number[]; msgs: number[] } {
  const convs = new Set<number>();
  const msgs = new Set<number>();
  for (const event of events) {
    if (event.msg) {
      msgs.add(event.msg.id);
      convs.add(event.msg.conv);
    } else if (event.receipt) convs.add(event.receipt.conv);
    else if (event.conv) convs.add(event.conv.id);
  }
  return { convs: [...convs], msgs: [...msgs] };
}

/** The cmids of my messages in `events` (as sent, or as stored) that may still be in the outbox. */
export function outboxCandidates(
  events: readonly SyncEvent[],
  stored: ReadonlyMap<number, Message | undefined>,
  me: string,
): string[] {
  const cmids = new Set<string>();
  for (const { msg } of events) {
    const cmid = msg && msg.sender === me ? (msg.cmid ?? stored.get(msg.id)?.cmid) : undefined;
    if (cmid !== undefined) cmids.add(cmid);
  }
  return [...cmids];
}

/**
 * Applies events to what the store holds, in memory, and says what to write and what changed.
 * Idempotent: applying events a second time writes and reports nothing.
 *
 * - msg: stores the message (unique by id); one of mine whose cmid is in the outbox leaves the
 *   outbox (it is sent); the conversation's last message, lastSeq and the sender's positions move.
 * - receipt: raises the member's delivered/read position.
 * - conv: merges the conversation snapshot.
 *
 * An event of a kind this client does not know has no field set and is skipped. A conversation
 * that is not stored is not created by its messages or receipts: every member's timeline holds the
 * conversation before anything that happens in it.
 */
export function applyToSnapshot(
  before: Snapshot,
  events: readonly SyncEvent[],
  me: string,
): { writes: TxWrites; changes: Changes } {
  const convs = new Map(before.convs);
  const msgs = new Map(before.msgs);
  const outbox = new Set(before.outbox);
  const changedConvs = new Set<number>();
  const changedMsgs = new Set<number>();
  const reported = new Map<number, Map<number, Message>>();
  const sent: string[] = [];
  const report = (msg: Message) => {
    const byId = reported.get(msg.conv) ?? new Map<number, Message>();
    reported.set(msg.conv, byId.set(msg.id, msg));
  };
  const step = (id: number, next: (conv: Conversation) => Conversation) => {
    const conv = convs.get(id);
    if (!conv) return;
    const after = next(conv);
    if (after === conv) return;
    convs.set(id, after);
    changedConvs.add(id);
  };

  for (const { msg, receipt, conv: incoming } of events) {
    if (msg) {
      const old = msgs.get(msg.id);
      const cmid = msg.cmid ?? old?.cmid;
      const merged: Message = cmid === undefined ? { ...old, ...msg } : { ...old, ...msg, cmid };
      if (!sameMessage(old, merged)) {
        msgs.set(msg.id, merged);
        changedMsgs.add(msg.id);
        report(merged);
      }
      if (cmid !== undefined && merged.sender === me && outbox.delete(cmid)) {
        sent.push(cmid);
        report(merged);
      }
      step(msg.conv, (conv) => withMessage(conv, merged, me));
    } else if (receipt) {
      step(receipt.conv, (conv) => withReceipt(conv, receipt, me));
    } else if (incoming) {
      const old = convs.get(incoming.id);
      const next = mergeConversation(old, incoming, me);
      if (old && sameConversation(old, next)) continue;
      convs.set(next.id, next);
      changedConvs.add(next.id);
    }
  }

  const written = [...changedConvs].map((id) => convs.get(id) as Conversation);
  const positions = written.filter((c) => {
    const old = before.convs.get(c.id);
    return old !== undefined && !samePositions(old, c);
  });
  const records = new Map<number, Conversation>();
  for (const [id, conv] of convs) if (conv) records.set(id, conv);
  const messages = new Map<number, Message[]>();
  for (const [conv, byId] of reported) {
    messages.set(
      conv,
      [...byId.values()].sort((a, b) => a.convSeq - b.convSeq),
    );
  }
  return {
    writes: { convs: written, msgs: [...changedMsgs].map((id) => msgs.get(id) as Message), sent },
    changes: { convs: [...changedConvs], messages, positions: positions.map((c) => c.id), records, sent },
  };
}
