import type { Conversation, Message, Receipt, SyncEvent } from '@synkey/protocol';
import { memberOf, mergeConversation, sameConversation, sameMessage, withMessage, withReceipt } from './model';
import type { Changes, StoreTx } from './store';

/**
 * Applies events inside one store transaction. Idempotent: applying an event a second time
 * changes nothing and reports nothing.
 *
 * - msg: stores the message (unique by id); one of mine whose cmid is in the outbox leaves the
 *   outbox (it is sent); the conversation's last message, lastSeq and the sender's positions move.
 * - receipt: raises the member's delivered/read position.
 * - conv: merges the conversation snapshot.
 *
 * An event of a kind this client does not know has no field set and is skipped.
 */
export async function applyEvents(tx: StoreTx, events: readonly SyncEvent[], me: string): Promise<Changes> {
  const changes = new ChangeSet();
  for (const event of events) {
    if (event.msg) await applyMessage(tx, event.msg, me, changes);
    else if (event.receipt) await applyReceipt(tx, event.receipt, me, changes);
    else if (event.conv) await applyConversation(tx, event.conv, me, changes);
  }
  return changes.result();
}

class ChangeSet {
  private readonly convs = new Set<number>();
  private readonly messages = new Map<number, Map<number, Message>>();
  private readonly sent: string[] = [];

  conv(id: number): void {
    this.convs.add(id);
  }

  message(msg: Message): void {
    const byId = this.messages.get(msg.conv) ?? new Map<number, Message>();
    this.messages.set(msg.conv, byId.set(msg.id, msg));
  }

  sentCmid(cmid: string): void {
    this.sent.push(cmid);
  }

  result(): Changes {
    const messages = new Map<number, Message[]>();
    for (const [conv, byId] of this.messages)
      messages.set(
        conv,
        [...byId.values()].sort((a, b) => a.convSeq - b.convSeq),
      );
    return { convs: [...this.convs], messages, sent: this.sent };
  }
}

async function applyMessage(tx: StoreTx, msg: Message, me: string, changes: ChangeSet): Promise<void> {
  const old = await tx.message(msg.id);
  const cmid = msg.cmid ?? old?.cmid;
  const merged: Message = cmid === undefined ? { ...old, ...msg } : { ...old, ...msg, cmid };
  if (!sameMessage(old, merged)) {
    await tx.putMessage(merged);
    changes.message(merged);
  }
  if (cmid !== undefined && merged.sender === me && (await tx.outboxEntry(cmid))) {
    await tx.deleteOutbox(cmid);
    changes.sentCmid(cmid);
    changes.message(merged);
  }
  await updateConversation(tx, msg.conv, (conv) => withMessage(conv, merged, me), me, changes);
}

async function applyReceipt(tx: StoreTx, receipt: Receipt, me: string, changes: ChangeSet): Promise<void> {
  await updateConversation(tx, receipt.conv, (conv) => withReceipt(conv, receipt, me), me, changes);
}

/**
 * Moves stored conversation `id` on by `step`, which returns its argument when nothing changes. A
 * conversation that is not stored is left alone: every member's timeline holds the conversation
 * before anything that happens in it.
 */
async function updateConversation(
  tx: StoreTx,
  id: number,
  step: (conv: Conversation) => Conversation,
  me: string,
  changes: ChangeSet,
): Promise<void> {
  const conv = await tx.conversation(id);
  if (!conv) return;
  const next = step(conv);
  if (next === conv) return;
  await tx.putConversation(next);
  changes.conv(conv.id);
  await collectMoved(tx, conv, next, me, changes);
}

async function applyConversation(tx: StoreTx, incoming: Conversation, me: string, changes: ChangeSet): Promise<void> {
  const old = await tx.conversation(incoming.id);
  const next = mergeConversation(old, incoming, me);
  if (old && sameConversation(old, next)) return;
  await tx.putConversation(next);
  changes.conv(next.id);
  if (old) await collectMoved(tx, old, next, me, changes);
}

/**
 * Reports the messages whose state may have changed because member positions rose from `before`
 * to `after`: my messages when someone else's positions rose, others' messages when my read
 * position rose.
 */
async function collectMoved(
  tx: StoreTx,
  before: Conversation,
  after: Conversation,
  me: string,
  changes: ChangeSet,
): Promise<void> {
  for (const member of after.members) {
    const old = memberOf(before, member.user);
    const mine = member.user === me;
    const ranges: [number, number][] = [[old?.read ?? 0, member.read]];
    if (!mine) ranges.push([old?.delivered ?? 0, member.delivered]);
    for (const [from, to] of ranges) {
      if (to <= from) continue;
      for (const m of await tx.messagesBetween(after.id, from, to)) {
        if (mine ? m.sender !== me : m.sender === me) changes.message(m);
      }
    }
  }
}
