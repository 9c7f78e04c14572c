import type { BodyOf, Conversation, Op, SyncEvent } from '@synkey/protocol';
import { Limits } from '@synkey/protocol';
import type Database from 'better-sqlite3';
import type { Messages } from './messages';
import { EventKind, toMessage } from './rows';
import { eventBytes, REPLY_BUDGET } from './sizes';
import type { Summaries } from './summaries';
import type { Timeline } from './timeline';
import { checkId, checkUint, clampLimit } from './validate';

type SyncReply = BodyOf<typeof Op.SYNC_REPLY>;

/** A SYNC reply stops growing once its events are estimated at this many encoded bytes. */
export const SYNC_REPLY_BUDGET = REPLY_BUDGET;

/** A timeline row: an event of one of the {@link EventKind}s. */
interface TimelineRow {
  kind: number;
  conv_id: number;
  msg_id: number | null;
  r_user: string | null;
  r_kind: number | null;
  r_upto: number | null;
}

/** Reads timeline pages for SYNC. Never writes. */
export class SyncReader {
  private readonly page: Database.Statement<[string, number, number], TimelineRow>;

  constructor(
    db: Database.Database,
    private readonly epoch: number,
    private readonly timeline: Timeline,
    private readonly summaries: Summaries,
    private readonly messages: Pick<Messages, 'row'>,
  ) {
    // Timeline seqs have no gaps, so a seq range is the page (a bound LIMIT would make SQLite re-plan each run).
    // Messages are looked up one by one: mostly from memory, as a SYNC usually fetches what was just sent.
    this.page = db.prepare<[string, number, number], TimelineRow>(
      `SELECT kind, conv_id, msg_id, r_user, r_kind, r_upto FROM timeline
       WHERE user_id = ? AND seq > ? AND seq <= ? ORDER BY seq`,
    );
  }

  /**
   * The user's timeline events after `req.seq`, at most `req.limit` of them and about `maxBytes` (at most
   * {@link SYNC_REPLY_BUDGET}) bytes, but at least one. An epoch other than 0 and ours, or a seq beyond the
   * newest, gets the reset reply.
   */
  sync(user: string, req: BodyOf<typeof Op.SYNC>, maxBytes = SYNC_REPLY_BUDGET): SyncReply {
    checkId(user, 'user');
    const epoch = checkUint(req.epoch, 'epoch');
    const from = checkUint(req.seq, 'seq');
    const limit = clampLimit(req.limit, Limits.syncPage, Limits.maxSyncPage);
    const newest = this.timeline.newest(user);
    if ((epoch !== 0 && epoch !== this.epoch) || from > newest) {
      return { epoch: this.epoch, from: 0, seq: 0, more: true, reset: true, events: [] };
    }

    const rows = this.page.all(user, from, from + limit);
    const convIds = new Set<number>();
    for (const row of rows) if (row.kind === EventKind.Conversation) convIds.add(row.conv_id);
    const convs = convIds.size > 0 ? this.summaries.byIds(user, convIds) : new Map<number, Conversation>();

    const budget = Math.min(maxBytes, SYNC_REPLY_BUDGET);
    const events: SyncEvent[] = [];
    let bytes = 0;
    for (const row of rows) {
      const event = this.toEvent(row, user, convs);
      bytes += eventBytes(event);
      if (bytes > budget && events.length > 0) break;
      events.push(event);
    }
    const seq = from + events.length;
    return { epoch: this.epoch, from, seq, more: seq < newest, events };
  }

  private toEvent(row: TimelineRow, viewer: string, convs: Map<number, Conversation>): SyncEvent {
    switch (row.kind) {
      case EventKind.Message: {
        const msg = this.messages.row(row.msg_id as number);
        if (!msg) throw new Error(`timeline event of a missing message ${row.msg_id}`);
        return { msg: toMessage(msg, viewer) };
      }
      case EventKind.Receipt:
        return { receipt: { conv: row.conv_id, user: row.r_user!, kind: row.r_kind!, upTo: row.r_upto! } };
      default: {
        // A conversation event; one the viewer can no longer see is sent empty, which readers skip but count.
        const conv = convs.get(row.conv_id);
        return conv ? { conv } : {};
      }
    }
  }
}
