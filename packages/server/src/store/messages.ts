import { type BodyOf, ErrorCode, Limits, type Message, MsgKind, type Op, ProtocolError } from '@synkey/protocol';
import type Database from 'better-sqlite3';
import type { Conversations } from './conversations';
import type { MediaRows } from './media';
import { EventKind, MEDIA_COLUMNS, type MessageRow, mediaJoin, toMessage } from './rows';
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
       WHERE msg.conv_id = ? AND msg.conv_seq < ? ORDER BY msg.conv_seq DESC LIMIT ?`,
    );
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
    this.bumpConv.run(convSeq, ts, ts, conv.conv);
    this.senderCaughtUp.run(convSeq, convSeq, conv.conv, user);
    const grew = this.timeline.appendToMembers({ kind: EventKind.Message, conv: conv.conv, msg: id });
    return { ack: { cmid, id, convSeq, ts }, grew, duplicate: false };
  }

  /** Up to `limit` messages of the conversation with convSeq below `before` (default: all), oldest first. */
  history(user: string, req: BodyOf<typeof Op.HISTORY>): { msgs: Message[]; more: boolean } {
    checkId(user, 'user');
    const conv = this.conversations.requireMember(req.conv, user);
    const before = req.before === undefined ? conv.lastSeq + 1 : checkUint(req.before, 'before');
    const limit = clampLimit(req.limit, Limits.historyPage, Limits.maxHistoryPage);
    const rows = this.page.all(conv.conv, before, limit + 1);
    const more = rows.length > limit;
    if (more) rows.pop();
    return { msgs: rows.reverse().map((row) => toMessage(row, user)), more };
  }
}
