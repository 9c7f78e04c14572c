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

/** A length in ms as m:ss, rounded to the second ("0:07", "1:30"). */
export function clock(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000) || 0);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** What a message's file is known as: the stored media, else (mine, unsent) the local file. */
export const fileOf = (m: Message | ChatMessage) => m.media ?? ('local' in m ? m.local : undefined);

/** A one-line text for a message: its text, or what kind of message it is ("📷 Photo", "🎤 Voice message (0:07)"). */
export function previewOf(m: Message | ChatMessage, i: I18n): string {
  if (m.kind === 1) return m.text ?? '';
  if (m.kind === 2) return m.text ? i.t('photoCaption', { text: m.text }) : i.t('photoPreview');
  if (m.kind === 3) return i.t('voicePreview', { d: clock(fileOf(m)?.durationMs ?? 0) });
  return i.t('unsupported');
}

/** The image types the widget sends (the server accepts these, checked again from the bytes). */
export const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'image/gif'];

/** Largest edge of an image's box in the thread, and the smallest (for very thin images, cropped). */
const BOX_W = 240;
const BOX_H = 300;
const BOX_MIN = 64;

/**
 * The box an image takes in the thread, in CSS px: its aspect ratio, shrunk (never enlarged) to fit
 * 240 × 300, each side at least 64 (thinner images are cropped to it). Unknown dimensions get 240 × 180.
 */
export function fitBox(width?: number, height?: number): { w: number; h: number } {
  if (!width || !height) return { w: BOX_W, h: 180 };
  const s = Math.min(1, BOX_W / width, BOX_H / height);
  return { w: Math.max(BOX_MIN, Math.round(width * s)), h: Math.max(BOX_MIN, Math.round(height * s)) };
}
