import { type BodyOf, ErrorCode, Limits, type Message, MsgKind, type Op, ProtocolError } from '@synkey/protocol';
import type Database from 'better-sqlite3';
import type { Conversations } from './conversations';
import type { MediaRows } from './media';
import { MessageCache } from './message-cache';
import { EventKind, MEDIA_COLUMNS, type MessageRow, mediaJoin, toMessage } from './rows';
import { countWithin, messageBytes, REPLY_BUDGET } from './sizes';
import type { Timeline } from './timeline';
import { checkCaption, checkId, checkMsgKind, checkText, checkUint, clampLimit, invalid } from './validate';

type SendAck = BodyOf<typeof Op.SEND_ACK>;

interface InsertParams {
  conv: number;
  convSeq: number;
  sender: string;
  cmid: string;
  kind: number;
  text: string | null;
  media: string | null;
  ts: number;
}

/** Sending (with cmid dedupe) and reading back messages. */
export class Messages {
  private readonly byCmid: Database.Statement<[string, string], Omit<SendAck, 'cmid'>>;
  private readonly insert: Database.Statement<[InsertParams], number>;
  private readonly bumpConv: Database.Statement<[number, number, number, number]>;
  private readonly senderCaughtUp: Database.Statement<[number, number, number, string]>;
  private readonly page: Database.Statement<[number, number, number], MessageRow>;
  private readonly byId: Database.Statement<[number], MessageRow>;
  private readonly cache = new MessageCache();

  constructor(
    db: Database.Database,
    private readonly conversations: Conversations,
    private readonly timeline: Timeline,
    private readonly media: MediaRows,
  ) {
    this.byCmid = db.prepare<[string, string], Omit<SendAck, 'cmid'>>(
      'SELECT id, conv_seq AS convSeq, ts FROM messages WHERE sender = ? AND cmid = ?',
    );
    this.insert = db
      .prepare<[InsertParams], number>(
        `INSERT INTO messages (conv_id, conv_seq, sender, cmid, kind, text, media_id, ts)
         VALUES (@conv, @convSeq, @sender, @cmid, @kind, @text, @media, @ts) RETURNING id`,
      )
      .pluck();
    this.bumpConv = db.prepare<[number, number, number, number]>(
      'UPDATE conversations SET last_seq = ?, last_ts = ?, updated_at = ? WHERE id = ?',
    );
    this.senderCaughtUp = db.prepare<[number, number, number, string]>(
      'UPDATE members SET delivered_seq = MAX(delivered_seq, ?), read_seq = MAX(read_seq, ?) WHERE conv_id = ? AND user_id = ?',
    );
    this.page = db.prepare<[number, number, number], MessageRow>(
      `SELECT msg.*, ${MEDIA_COLUMNS} FROM messages msg ${mediaJoin('msg')}
       WHERE msg.conv_id = ? AND msg.conv_seq >= ? AND msg.conv_seq < ? ORDER BY msg.conv_seq DESC`,
    );
    this.byId = db.prepare<[number], MessageRow>(
      `SELECT msg.*, ${MEDIA_COLUMNS} FROM messages msg ${mediaJoin('msg')} WHERE msg.id = ?`,
    );
  }

  /** The stored message `id` with its media, from memory when it was stored or read lately. */
  row(id: number): MessageRow | undefined {
    const cached = this.cache.get(id);
    if (cached) return cached;
    const row = this.byId.get(id);
    if (row) this.cache.put(row);
    return row;
  }

  /** Forgets the rows held in memory (after a rollback, an id may be used again). */
  forget(): void {
    this.cache.clear();
  }

  /**
   * Stores a message from `user` and appends it to every member's timeline. Replying implies having read:
   * the sender's delivered and read positions move to the new message, and the message event itself tells
   * the other members so (no separate receipt event). A `prev` that is not stored refuses the message
   * (OUT_OF_ORDER), so a client that pipelines can never have a later message stored before an earlier one.
   * A cmid the sender already used returns the original ack and stores nothing, even
   * when the conversation or text differ. An image or voice message names a media id of the sender's
   * (its text is an optional caption); sending it lets the conversation's members read that media.
   */
  send(user: string, req: BodyOf<typeof Op.SEND>): { ack: SendAck; grew: string[]; duplicate: boolean } {
    checkId(user, 'user');
    const cmid = checkId(req.cmid, 'cmid');
    const original = this.byCmid.get(user, cmid);
    if (original) return { ack: { cmid, ...original }, grew: [], duplicate: true };
    if (req.prev !== undefined && !this.byCmid.get(user, checkId(req.prev, 'prev'))) {
      throw new ProtocolError(ErrorCode.OutOfOrder, `the message before this one (${req.prev}) is not stored yet`);
    }
    const kind = checkMsgKind(req.kind);
    let text: string | null;
    let media: string | null = null;
    if (kind === MsgKind.Text) {
      if (req.media !== undefined) invalid('a text message has no media');
      text = checkText(req.text);
    } else {
      text = checkCaption(req.text);
      if (req.media === undefined) invalid(`a message of kind ${kind} needs a media id`);
      media = this.media.requireForSend(user, checkId(req.media, 'media'), kind);
    }
    const conv = this.conversations.requireMember(req.conv, user);

    const convSeq = conv.lastSeq + 1;
    const ts = Math.max(Date.now(), conv.lastTs);
    const id = this.insert.get({ conv: conv.conv, convSeq, sender: user, cmid, kind, text, media, ts }) as number;
    if (media !== null) this.media.sentTo(media, conv.conv);
    else this.cache.put(textRow(id, conv.conv, convSeq, user, cmid, kind, text, ts));
    this.bumpConv.run(convSeq, ts, ts, conv.conv);
    this.senderCaughtUp.run(convSeq, convSeq, conv.conv, user);
    const grew = this.timeline.appendToMembers({ kind: EventKind.Message, conv: conv.conv, msg: id });
    return { ack: { cmid, id, convSeq, ts }, grew, duplicate: false };
  }

  /**
   * The newest `limit` messages of the conversation with convSeq below `before` (default: all), oldest first;
   * fewer (but at least one) when they would pass about `maxBytes` (at most {@link REPLY_BUDGET}) encoded bytes.
   */
  history(user: string, req: BodyOf<typeof Op.HISTORY>, maxBytes = REPLY_BUDGET): { msgs: Message[]; more: boolean } {
    checkId(user, 'user');
    const conv = this.conversations.requireMember(req.conv, user);
    const end = conv.lastSeq + 1;
    const before = req.before === undefined ? end : Math.min(checkUint(req.before, 'before'), end);
    const limit = clampLimit(req.limit, Limits.historyPage, Limits.maxHistoryPage);
    // convSeqs have no gaps, so a range is the page (a bound LIMIT would make SQLite re-plan each run).
    const rows = this.page.all(conv.conv, before - limit, before);
    let more = before - limit > 1;
    const newestFirst = rows.map((row) => toMessage(row, user));
    const fit = countWithin(newestFirst, Math.min(maxBytes, REPLY_BUDGET), messageBytes);
    if (fit < newestFirst.length) more = true;
    return { msgs: newestFirst.slice(0, fit).reverse(), more };
  }
}

/** The row of a message without media, as {@link Messages.row} would read it. */
function textRow(
  id: number,
  conv: number,
  convSeq: number,
  sender: string,
  cmid: string,
  kind: number,
  text: string | null,
  ts: number,
): MessageRow {
  return {
    id,
    conv_id: conv,
    conv_seq: convSeq,
    sender,
    cmid,
    kind,
    text,
    ts,
    media_id: null,
    media_mime: null,
    media_size: null,
    media_width: null,
    media_height: null,
    media_duration_ms: null,
    media_name: null,
  };
}
