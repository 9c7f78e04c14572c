import type { Conversation, Message } from '@synkey/protocol';
import { memberOf } from './model';
import type { OutboxEntry } from './store';

/**
 * Where a message stands.
 * - Mine: `sending` → `sent` (the server stored it) → `delivered` (a device of every other member
 *   acknowledged it) → `read` (every other member read it); or `failed` (the outbox gave up).
 * - Others': `delivered` (it reached this device), then `read` once I read up to it.
 */
export type MessageState = 'sending' | 'sent' | 'delivered' | 'read' | 'failed';

/** A message as the engine shows it. */
export interface ChatMessage {
  /** The server's id; absent until the server stored the message. */
  id?: number;
  /** The clientMsgId of a message sent by this user (from any of their devices). */
  cmid?: string;
  conv: number;
  sender: string;
  /** The position in the conversation (1, 2, 3…); absent until the server stored the message. */
  convSeq?: number;
  /** Server time in ms; local time of `send()` until the server stored the message. */
  ts: number;
  kind: number;
  text?: string;
  state: MessageState;
  /** Why the last attempt failed, for a `failed` message. */
  error?: string;
}

/** The state of a stored message, from the member positions in its conversation. */
export function messageState(msg: Message, conv: Conversation | undefined, me: string): MessageState {
  if (msg.sender !== me) return (memberOf(conv, me)?.read ?? 0) >= msg.convSeq ? 'read' : 'delivered';
  const others = conv?.members.filter((m) => m.user !== me) ?? [];
  if (others.length === 0) return 'sent';
  if (others.every((m) => m.read >= msg.convSeq)) return 'read';
  if (others.every((m) => m.delivered >= msg.convSeq)) return 'delivered';
  return 'sent';
}

/** A stored message with its state. */
export function storedMessage(msg: Message, conv: Conversation | undefined, me: string): ChatMessage {
  return { ...msg, state: messageState(msg, conv, me) };
}

/** An outbox entry as a message. */
export function outboxMessage(entry: OutboxEntry, me: string): ChatMessage {
  const msg: ChatMessage = {
    cmid: entry.cmid,
    conv: entry.conv,
    sender: me,
    ts: entry.createdAt,
    kind: entry.kind,
    state: entry.state,
  };
  if (entry.text !== undefined) msg.text = entry.text;
  if (entry.error !== undefined) msg.error = entry.error;
  return msg;
}
