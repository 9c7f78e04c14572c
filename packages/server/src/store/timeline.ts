import type { ReceiptKind } from '@synkey/protocol';
import type Database from 'better-sqlite3';
import { EventKind } from './rows';

/** The payload of one timeline event. */
export type EventRef =
  | { kind: typeof EventKind.Message; conv: number; msg: number }
  | { kind: typeof EventKind.Receipt; conv: number; user: string; receipt: ReceiptKind; upTo: number }
  | { kind: typeof EventKind.Conversation; conv: number };

interface EventParams {
  kind: number;
  conv: number;
  msg: number | null;
  rUser: string | null;
  rKind: number | null;
  rUpTo: number | null;
}

function params(ev: EventRef): EventParams {
  switch (ev.kind) {
    case EventKind.Message:
      return { kind: ev.kind, conv: ev.conv, msg: ev.msg, rUser: null, rKind: null, rUpTo: null };
    case EventKind.Receipt:
      return { kind: ev.kind, conv: ev.conv, msg: null, rUser: ev.user, rKind: ev.receipt, rUpTo: ev.upTo };
    case EventKind.Conversation:
      return { kind: ev.kind, conv: ev.conv, msg: null, rUser: null, rKind: null, rUpTo: null };
  }
}

/**
 * Appends events to per-user timelines. The next seq is `users.timeline_seq + 1`, bumped by the same
 * statement group that inserts the event, so inside the caller's transaction the seqs stay gapless.
 */
export class Timeline {
  private readonly newestSeq: Database.Statement<[string], number>;
  private readonly bumpUser: Database.Statement<[string], number>;
  private readonly insertOne: Database.Statement<[EventParams & { user: string; seq: number }]>;
  private readonly bumpMembers: Database.Statement<[number], string>;
  private readonly insertForMembers: Database.Statement<[EventParams]>;

  constructor(db: Database.Database) {
    this.newestSeq = db.prepare<[string], number>('SELECT timeline_seq FROM users WHERE id = ?').pluck();
    this.bumpUser = db
      .prepare<[string], number>('UPDATE users SET timeline_seq = timeline_seq + 1 WHERE id = ? RETURNING timeline_seq')
      .pluck();
    this.insertOne = db.prepare(
      `INSERT INTO timeline (user_id, seq, kind, msg_id, conv_id, r_user, r_kind, r_upto)
       VALUES (@user, @seq, @kind, @msg, @conv, @rUser, @rKind, @rUpTo)`,
    );
    this.bumpMembers = db
      .prepare<[number], string>(
        `UPDATE users SET timeline_seq = timeline_seq + 1
         WHERE id IN (SELECT user_id FROM members WHERE conv_id = ?) RETURNING id`,
      )
      .pluck();
    this.insertForMembers = db.prepare(
      `INSERT INTO timeline (user_id, seq, kind, msg_id, conv_id, r_user, r_kind, r_upto)
       SELECT m.user_id, u.timeline_seq, @kind, @msg, @conv, @rUser, @rKind, @rUpTo
       FROM members m JOIN users u ON u.id = m.user_id WHERE m.conv_id = @conv`,
    );
  }

  /** The user's newest timeline seq; 0 for an unknown user or an empty timeline. */
  newest(user: string): number {
    return this.newestSeq.get(user) ?? 0;
  }

  /** Appends `ev` to one (existing) user's timeline. */
  appendToUser(user: string, ev: EventRef): void {
    const seq = this.bumpUser.get(user);
    if (seq === undefined) throw new Error(`timeline append for unknown user ${user}`);
    this.insertOne.run({ ...params(ev), user, seq });
  }

  /** Appends `ev` to the timeline of every member of conversation `ev.conv`; returns those members. */
  appendToMembers(ev: EventRef): string[] {
    const users = this.bumpMembers.all(ev.conv);
    this.insertForMembers.run(params(ev));
    return users;
  }
}
