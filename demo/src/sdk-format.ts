import type { ChatMessage } from '@synkey/sdk';

/** What the SDK page shows beside my message in each state (text, not colour alone). */
export const STATE_LABEL: Record<ChatMessage['state'], string> = {
  sending: 'Sending…',
  sent: '✓ Sent',
  delivered: '✓✓ Delivered',
  read: '✓✓ Read',
  failed: '! Failed',
};

/** A one-line text for a message of any kind (the page shows text; photos and voice by name). */
export function preview(m: { kind: number; text?: string }): string {
  if (m.kind === 2) return m.text ? `[Photo] ${m.text}` : '[Photo]';
  if (m.kind === 3) return '[Voice message]';
  return m.text ?? '';
}

/** The time of day of `ts`, e.g. "14:05" or "2:05 PM" as the browser's locale writes it. */
export function timeLabel(ts: number): string {
  return new Date(ts).toLocaleTimeString(undefined, { hour: 'numeric', minute: '2-digit' });
}

/** "Today", "Yesterday" or the date of `ts`, relative to `now`. */
export function dayLabel(ts: number, now = Date.now()): string {
  const day = (t: number) => new Date(t).toDateString();
  if (day(ts) === day(now)) return 'Today';
  if (day(ts) === day(now - 86_400_000)) return 'Yesterday';
  return new Date(ts).toLocaleDateString(undefined, { weekday: 'short', month: 'short', day: 'numeric' });
}
