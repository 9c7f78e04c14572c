import type { Message, SyncEvent } from '@synkey/protocol';

/** A SYNC or HISTORY reply stops growing once its contents are estimated at this many encoded bytes. */
export const REPLY_BUDGET = 512 * 1024;

/** A generous estimate of a message's msgpack size: UTF-8 string bytes plus a fixed allowance per object. */
export function messageBytes(m: Message): number {
  return (
    48 +
    Buffer.byteLength(m.sender) +
    (m.cmid ? Buffer.byteLength(m.cmid) : 0) +
    (m.text ? Buffer.byteLength(m.text) : 0) +
    (m.media ? 64 + Buffer.byteLength(m.media.id) + (m.media.name ? Buffer.byteLength(m.media.name) : 0) : 0)
  );
}

/** A generous estimate of a timeline event's msgpack size. */
export function eventBytes(ev: SyncEvent): number {
  if (ev.msg) return messageBytes(ev.msg);
  if (ev.receipt) return 32 + Buffer.byteLength(ev.receipt.user);
  if (!ev.conv) return 4;
  let n = 64 + (ev.conv.title ? Buffer.byteLength(ev.conv.title) : 0) + (ev.conv.last ? messageBytes(ev.conv.last) : 0);
  for (const m of ev.conv.members) n += 24 + Buffer.byteLength(m.user);
  return n;
}

/**
 * How many of `items`, taken in order, fit in `budget` estimated bytes; at least one when there are any, so
 * a reply always makes progress.
 */
export function countWithin<T>(items: readonly T[], budget: number, bytes: (item: T) => number): number {
  let total = 0;
  for (let i = 0; i < items.length; i++) {
    total += bytes(items[i] as T);
    if (total > budget && i > 0) return i;
  }
  return items.length;
}
