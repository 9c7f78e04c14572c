import { type Conversation, ConvKind, type Message } from '@synkey/protocol';
import type { OutboxEntry } from '../src/store';

/** A direct conversation between `a` and `b` with no messages. */
export function directConv(id: number, a: string, b: string): Conversation {
  return {
    id,
    kind: ConvKind.Direct,
    members: [
      { user: a, delivered: 0, read: 0 },
      { user: b, delivered: 0, read: 0 },
    ],
    lastSeq: 0,
    unread: 0,
    createdAt: 1_000,
  };
}

/** Message `convSeq` of `conv` from `sender`, with id `conv * 1000 + convSeq`. */
export function msg(conv: number, convSeq: number, sender: string, extra: Partial<Message> = {}): Message {
  return {
    id: conv * 1000 + convSeq,
    conv,
    sender,
    convSeq,
    ts: 10_000 + convSeq,
    kind: 1,
    text: `m${convSeq}`,
    ...extra,
  };
}

/** An outbox entry `sending` the text 'hi' to `conv`. */
export function outboxEntry(cmid: string, conv = 1, createdAt = 1): OutboxEntry {
  return { cmid, conv, kind: 1, text: 'hi', createdAt, state: 'sending' };
}
