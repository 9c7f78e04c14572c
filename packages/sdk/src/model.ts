import type { Conversation, Member, Message, Receipt } from '@synkey/protocol';
import { ReceiptKind } from '@synkey/protocol/lite';

/*
 * Pure rules for merging what the server says into the local copy of a conversation. Positions
 * only ever rise. A sender's read and delivered positions move to each message they send (as on
 * the server), so `unread` is always `lastSeq - my read position`.
 */

/** `user`'s member record in `conv`. */
export function memberOf(conv: Conversation | undefined, user: string): Member | undefined {
  return conv?.members.find((m) => m.user === user);
}

/**
 * Raises `user`'s positions to at least the given ones (adding the member if missing); returns
 * `conv` itself when nothing moved.
 */
export function raiseMember(conv: Conversation, user: string, delivered: number, read: number): Conversation {
  const i = conv.members.findIndex((m) => m.user === user);
  const old = conv.members[i];
  const next: Member = {
    user,
    delivered: Math.max(old?.delivered ?? 0, delivered, read),
    read: Math.max(old?.read ?? 0, read),
  };
  if (old && next.delivered === old.delivered && next.read === old.read) return conv;
  return { ...conv, members: old ? conv.members.with(i, next) : [...conv.members, next] };
}

/** Recomputes `unread`; returns `conv` itself when it was right. */
export function withUnread(conv: Conversation, me: string): Conversation {
  const unread = Math.max(0, conv.lastSeq - (memberOf(conv, me)?.read ?? 0));
  return unread === conv.unread ? conv : { ...conv, unread };
}

/** True when two messages hold the same values. */
export function sameMessage(a: Message | undefined, b: Message | undefined): boolean {
  if (!a || !b) return a === b;
  return (
    a.id === b.id &&
    a.conv === b.conv &&
    a.sender === b.sender &&
    a.cmid === b.cmid &&
    a.convSeq === b.convSeq &&
    a.ts === b.ts &&
    a.kind === b.kind &&
    a.text === b.text &&
    JSON.stringify(a.media) === JSON.stringify(b.media)
  );
}

/** The later of two messages by convSeq. */
export function newerMessage(a: Message | undefined, b: Message | undefined): Message | undefined {
  if (!a) return b;
  if (!b) return a;
  return b.convSeq >= a.convSeq ? b : a;
}

/** `conv` after `msg` was stored; returns `conv` itself when nothing changed. */
export function withMessage(conv: Conversation, msg: Message, me: string): Conversation {
  let next = conv;
  if (msg.convSeq >= (conv.last?.convSeq ?? 0) && !sameMessage(conv.last, msg)) next = { ...next, last: msg };
  if (msg.convSeq > next.lastSeq) next = { ...next, lastSeq: msg.convSeq };
  next = raiseMember(next, msg.sender, msg.convSeq, msg.convSeq);
  return withUnread(next, me);
}

/** `conv` after a receipt; returns `conv` itself when nothing changed (an old or repeated receipt). */
export function withReceipt(conv: Conversation, receipt: Receipt, me: string): Conversation {
  const { user, kind, upTo } = receipt;
  if (kind === ReceiptKind.Read) return withUnread(raiseMember(conv, user, upTo, upTo), me);
  if (kind === ReceiptKind.Delivered) return raiseMember(conv, user, upTo, 0);
  return conv;
}

/**
 * Merges a conversation snapshot from the server into the local record: membership, kind and title
 * come from the snapshot; positions, `lastSeq` and `last` keep whichever is further.
 */
export function mergeConversation(local: Conversation | undefined, incoming: Conversation, me: string): Conversation {
  if (!local) return withUnread(incoming, me);
  const old = new Map(local.members.map((m) => [m.user, m]));
  const members = incoming.members.map((m) => {
    const o = old.get(m.user);
    return o ? { user: m.user, delivered: Math.max(o.delivered, m.delivered), read: Math.max(o.read, m.read) } : m;
  });
  const merged: Conversation = {
    ...incoming,
    members,
    lastSeq: Math.max(local.lastSeq, incoming.lastSeq),
  };
  const last = newerMessage(local.last, incoming.last);
  if (last) merged.last = last;
  return withUnread(merged, me);
}

/** True when two conversation records hold the same values. */
export function sameConversation(a: Conversation, b: Conversation): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** True when every member of `after` holds the same positions in `before` (so no one joined either). */
export function samePositions(before: Conversation, after: Conversation): boolean {
  return after.members.every((m) => {
    const old = memberOf(before, m.user);
    return old !== undefined && old.delivered === m.delivered && old.read === m.read;
  });
}

/** Orders conversations by most recent activity (last message, else creation), newest first. */
export function byActivity(a: Conversation, b: Conversation): number {
  return (b.last?.ts ?? b.createdAt) - (a.last?.ts ?? a.createdAt) || b.id - a.id;
}
