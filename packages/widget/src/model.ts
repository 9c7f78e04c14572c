import type { ChatMessage, Conversation, Message } from '@synkey/sdk';
import type { I18n } from './i18n';

/** The key a message keeps from `sending` to `read`: its clientMsgId when it has one, else its server id. */
export const keyOf = (m: ChatMessage): string => (m.cmid !== undefined ? `c:${m.cmid}` : `i:${m.id}`);

/** Stored messages by position, then unsent ones by local time. */
export const byPosition = (a: ChatMessage, b: ChatMessage): number =>
  (a.convSeq ?? Number.MAX_SAFE_INTEGER) - (b.convSeq ?? Number.MAX_SAFE_INTEGER) || a.ts - b.ts;

/** True for a message this user sent (from any of their devices: only those carry a clientMsgId). */
export const isMine = (m: Message | ChatMessage, me: string | undefined): boolean =>
  m.cmid !== undefined || (me !== undefined && m.sender === me);

/** A conversation's title: its own, else the other members' ids. */
export function titleOf(conv: Conversation | undefined, me: string | undefined): string {
  if (!conv) return '';
  if (conv.title) return conv.title;
  const users = conv.members.map((m) => m.user);
  return users.filter((u) => u !== me).join(', ') || me || users.join(', ');
}

/** A one-line text for a message: its text, or what kind of message it is. */
export function previewOf(m: Message | ChatMessage, i: I18n): string {
  return m.kind === 1 ? (m.text ?? '') : i.t(m.kind === 2 ? 'photo' : m.kind === 3 ? 'voice' : 'unsupported');
}
