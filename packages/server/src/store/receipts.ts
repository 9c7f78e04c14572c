import { type BodyOf, type Op, ReceiptKind } from '@synkey/protocol';
import type Database from 'better-sqlite3';
import type { Conversations } from './conversations';
import { EventKind } from './rows';
import type { Timeline } from './timeline';
import { checkId, checkUint, invalid } from './validate';

interface AckRange {
  user: string;
  from: number;
  to: number;
}

/** A conversation whose messages from others in the acked range lie beyond the acker's delivered position. */
interface DeliveredRise {
  conv: number;
  delivered: number;
  upTo: number;
}

/** Device ack cursors with the delivered receipts they cause, and read positions with read receipts. */
export class Receipts {
  private readonly cursor: Database.Statement<[string, string], number>;
  private readonly saveCursor: Database.Statement<[string, string, number, number]>;
  private readonly rises: Database.Statement<[AckRange], DeliveredRise>;
  private readonly setDelivered: Database.Statement<[number, number, string]>;
  private readonly sendersBetween: Database.Statement<[number, number, number, string], string>;
  private readonly setRead: Database.Statement<[number, number, number, string]>;

  constructor(
    db: Database.Database,
    private readonly epoch: number,
    private readonly conversations: Conversations,
    private readonly timeline: Timeline,
  ) {
    this.cursor = db
      .prepare<[string, string], number>('SELECT acked_seq FROM devices WHERE user_id = ? AND device_id = ?')
      .pluck();
    this.saveCursor = db.prepare<[string, string, number, number]>(
      `INSERT INTO devices (user_id, device_id, acked_seq, last_seen) VALUES (?, ?, ?, ?)
       ON CONFLICT (user_id, device_id) DO UPDATE SET acked_seq = excluded.acked_seq, last_seen = excluded.last_seen`,
    );
    this.rises = db.prepare<[AckRange], DeliveredRise>(
      `SELECT m.conv_id AS conv, me.delivered_seq AS delivered, MAX(m.conv_seq) AS upTo
       FROM timeline t
       JOIN messages m ON m.id = t.msg_id
       JOIN members me ON me.conv_id = m.conv_id AND me.user_id = t.user_id
       WHERE t.user_id = @user AND t.seq > @from AND t.seq <= @to AND t.kind = ${EventKind.Message}
         AND m.sender <> @user
       GROUP BY m.conv_id
       HAVING MAX(m.conv_seq) > me.delivered_seq`,
    );
    this.setDelivered = db.prepare<[number, number, string]>(
      'UPDATE members SET delivered_seq = ? WHERE conv_id = ? AND user_id = ?',
    );
    this.sendersBetween = db
      .prepare<[number, number, number, string], string>(
        `SELECT DISTINCT sender FROM messages
         WHERE conv_id = ? AND conv_seq > ? AND conv_seq <= ? AND sender <> ?`,
      )
      .pluck();
    this.setRead = db.prepare<[number, number, number, string]>(
      'UPDATE members SET read_seq = ?, delivered_seq = MAX(delivered_seq, ?) WHERE conv_id = ? AND user_id = ?',
    );
  }

  /**
   * Moves `device`'s ack cursor to `req.seq` (a repeat or a lower seq is a no-op). For each conversation with
   * messages from others in the newly acked range, the user's delivered position rises to the highest of
   * them and each sender of a message in (old, new delivered] gets one delivered receipt.
   * INVALID for a stale epoch or a seq beyond the user's newest.
   */
  ack(user: string, device: string, req: BodyOf<typeof Op.ACK>): { grew: string[] } {
    checkId(user, 'user');
    checkId(device, 'device');
    if (checkUint(req.epoch, 'epoch') !== this.epoch) invalid(`epoch ${req.epoch} is stale`);
    const seq = checkUint(req.seq, 'seq');
    const newest = this.timeline.newest(user);
    if (seq > newest) invalid(`seq ${seq} is beyond the newest ${newest}`);
    const from = this.cursor.get(user, device) ?? 0;
    if (seq <= from) return { grew: [] };

    this.saveCursor.run(user, device, seq, Date.now());
    const grew = new Set<string>();
    for (const rise of this.rises.all({ user, from, to: seq })) {
      this.setDelivered.run(rise.upTo, rise.conv, user);
      for (const sender of this.sendersBetween.all(rise.conv, rise.delivered, rise.upTo, user)) {
        this.timeline.appendToUser(sender, {
          kind: EventKind.Receipt,
          conv: rise.conv,
          user,
          receipt: ReceiptKind.Delivered,
          upTo: rise.upTo,
        });
        grew.add(sender);
      }
    }
    return { grew: [...grew] };
  }

  /**
   * Raises `user`'s read position (and delivered, if lower) to `req.upTo` clamped to the last message, and
   * appends a read receipt to every member's timeline, the reader's included. Not above the current read
   * position: a no-op.
   */
  read(user: string, req: BodyOf<typeof Op.READ>): { grew: string[] } {
    checkId(user, 'user');
    const conv = this.conversations.requireMember(req.conv, user);
    const upTo = Math.min(checkUint(req.upTo, 'upTo'), conv.lastSeq);
    if (upTo <= conv.read) return { grew: [] };
    this.setRead.run(upTo, upTo, conv.conv, user);
    const grew = this.timeline.appendToMembers({
      kind: EventKind.Receipt,
      conv: conv.conv,
      user,
      receipt: ReceiptKind.Read,
      upTo,
    });
    return { grew };
  }
}
