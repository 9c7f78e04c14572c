import type { BodyOf, Conversation, Message, Op, SyncEvent } from '@synkey/protocol';
import { Limits } from '@synkey/protocol';
import type Database from 'better-sqlite3';
import { EventKind, MEDIA_COLUMNS, type MessageRow, mediaJoin, toMessage } from './rows';
import type { Summaries } from './summaries';
import type { Timeline } from './timeline';
import { checkId, checkUint, clampLimit } from './validate';

type SyncReply = BodyOf<typeof Op.SYNC_REPLY>;

/** A SYNC reply stops growing once its events are estimated at this many encoded bytes. */
export const SYNC_REPLY_BUDGET = 512 * 1024;

/** A timeline row joined with its message (message columns are null for other kinds). */
type TimelineRow = Nullable<MessageRow> & {
  ev_kind: number;
  ev_conv: number;
  r_user: string | null;
  r_kind: number | null;
  r_upto: number | null;
};
type Nullable<T> = { [K in keyof T]: T[K] | null };

/** Reads timeline pages for SYNC. Never writes. */
export class SyncReader {
  private readonly page: Database.Statement<[string, number, number], TimelineRow>;

  constructor(
    db: Database.Database,
    private readonly epoch: number,
    private readonly timeline: Timeline,
    private readonly summaries: Summaries,
  ) {
    this.page = db.prepare<[string, number, number], TimelineRow>(
      `SELECT t.kind AS ev_kind, t.conv_id AS ev_conv, t.r_user, t.r_kind, t.r_upto, m.*, ${MEDIA_COLUMNS}
       FROM timeline t LEFT JOIN messages m ON m.id = t.msg_id ${mediaJoin('m')}
       WHERE t.user_id = ? AND t.seq > ? ORDER BY t.seq LIMIT ?`,
    );
  }

  /**
   * The user's timeline events after `req.seq`, at most `req.limit` of them and about {@link SYNC_REPLY_BUDGET}
   * bytes. An epoch other than 0 and ours, or a seq beyond the newest, gets the reset reply.
   */
  sync(user: string, req: BodyOf<typeof Op.SYNC>): SyncReply {
    checkId(user, 'user');
    const epoch = checkUint(req.epoch, 'epoch');
    const from = checkUint(req.seq, 'seq');
    const limit = clampLimit(req.limit, Limits.syncPage, Limits.maxSyncPage);
    const newest = this.timeline.newest(user);
    if ((epoch !== 0 && epoch !== this.epoch) || from > newest) {
      return { epoch: this.epoch, from: 0, seq: 0, more: true, reset: true, events: [] };
    }

    const rows = this.page.all(user, from, limit);
    const convIds = new Set<number>();
    for (const row of rows) if (row.ev_kind === EventKind.Conversation) convIds.add(row.ev_conv);
    const convs = convIds.size > 0 ? this.summaries.byIds(user, convIds) : new Map<number, Conversation>();

    const events: SyncEvent[] = [];
    let bytes = 0;
    for (const row of rows) {
      const event = toEvent(row, user, convs);
      bytes += eventBytes(event);
      if (bytes > SYNC_REPLY_BUDGET && events.length > 0) break;
      events.push(event);
    }
    const seq = from + events.length;
    return { epoch: this.epoch, from, seq, more: seq < newest, events };
  }
}

function toEvent(row: TimelineRow, viewer: string, convs: Map<number, Conversation>): SyncEvent {
  switch (row.ev_kind) {
    case EventKind.Message:
      return { msg: toMessage(row as MessageRow, viewer) };
    case EventKind.Receipt:
      return { receipt: { conv: row.ev_conv, user: row.r_user!, kind: row.r_kind!, upTo: row.r_upto! } };
    default: {
      // A conversation event; one the viewer can no longer see is sent empty, which readers skip but count.
      const conv = convs.get(row.ev_conv);
      return conv ? { conv } : {};
    }
  }
}

/** A generous estimate of the msgpack size: UTF-8 string bytes plus a fixed allowance per object. */
function messageBytes(m: Message): number {
  return (
    48 +
    Buffer.byteLength(m.sender) +
    (m.cmid ? Buffer.byteLength(m.cmid) : 0) +
    (m.text ? Buffer.byteLength(m.text) : 0) +
    (m.media ? 64 + Buffer.byteLength(m.media.id) + (m.media.name ? Buffer.byteLength(m.media.name) : 0) : 0)
  );
}

function eventBytes(ev: SyncEvent): number {
  if (ev.msg) return messageBytes(ev.msg);
  if (ev.receipt) return 32 + Buffer.byteLength(ev.receipt.user);
  if (!ev.conv) return 4;
  let n = 64 + (ev.conv.title ? Buffer.byteLength(ev.conv.title) : 0) + (ev.conv.last ? messageBytes(ev.conv.last) : 0);
  for (const m of ev.conv.members) n += 24 + Buffer.byteLength(m.user);
  return n;
}
