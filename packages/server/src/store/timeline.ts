import type { ReceiptKind } from '@synkey/protocol';
import type Database from 'better-sqlite3';
import { EventKind } from './rows';

/** The payload of one timeline event. */
export type EventRef =
  | { kind: typeof EventKind.Message; conv: number; msg: number }
  | { kind: typeof EventKind.Receipt; conv: number; user: string; receipt: ReceiptKind; upTo: number }
  | { kind: typeof EventKind.Conversation; conv: number };

/** Users whose newest seq is remembered at most; past it the memory starts over. */
const MAX_REMEMBERED = 200_000;

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
 * Newest seqs are remembered (they are asked for on every SYNC, ACK and NOTIFY); the store calls
 * {@link Timeline.forget} when a write is rolled back.
 */
export class Timeline {
  private readonly newestSeq: Database.Statement<[string], number>;
  private readonly bumpUser: Database.Statement<[string], number>;
  private readonly insertOne: Database.Statement<[EventParams & { user: string; seq: number }]>;
  private readonly bumpMembers: Database.Statement<[number], { id: string; seq: number }>;
  private readonly insertForMembers: Database.Statement<[EventParams]>;
  private readonly seqs = new Map<string, number>();

  constructor(db: Database.Database) {
    this.newestSeq = db.prepare<[string], number>('SELECT timeline_seq FROM users WHERE id = ?').pluck();
    this.bumpUser = db
      .prepare<[string], number>('UPDATE users SET timeline_seq = timeline_seq + 1 WHERE id = ? RETURNING timeline_seq')
      .pluck();
    this.insertOne = db.prepare(
      `INSERT INTO timeline (user_id, seq, kind, msg_id, conv_id, r_user, r_kind, r_upto)
       VALUES (@user, @seq, @kind, @msg, @conv, @rUser, @rKind, @rUpTo)`,
    );
    this.bumpMembers = db.prepare<[number], { id: string; seq: number }>(
      `UPDATE users SET timeline_seq = timeline_seq + 1
       WHERE id IN (SELECT user_id FROM members WHERE conv_id = ?) RETURNING id, timeline_seq AS seq`,
    );
    this.insertForMembers = db.prepare(
      `INSERT INTO timeline (user_id, seq, kind, msg_id, conv_id, r_user, r_kind, r_upto)
       SELECT m.user_id, u.timeline_seq, @kind, @msg, @conv, @rUser, @rKind, @rUpTo
       FROM members m JOIN users u ON u.id = m.user_id WHERE m.conv_id = @conv`,
    );
  }

  /** The user's newest timeline seq; 0 for an unknown user or an empty timeline. */
  newest(user: string): number {
    const known = this.seqs.get(user);
    if (known !== undefined) return known;
    const seq = this.newestSeq.get(user);
    if (seq !== undefined) this.remember(user, seq);
    return seq ?? 0;
  }

  /** Appends `ev` to one (existing) user's timeline. */
  appendToUser(user: string, ev: EventRef): void {
    const seq = this.bumpUser.get(user);
    if (seq === undefined) throw new Error(`timeline append for unknown user ${user}`);
    this.remember(user, seq);
    this.insertOne.run({ ...params(ev), user, seq });
  }

  /** Appends `ev` to the timeline of every member of conversation `ev.conv`; returns those members. */
  appendToMembers(ev: EventRef): string[] {
    const bumped = this.bumpMembers.all(ev.conv);
    const users: string[] = [];
    for (const { id, seq } of bumped) {
      this.remember(id, seq);
      users.push(id);
    }
    this.insertForMembers.run(params(ev));
    return users;
  }

  /** Drops the remembered seqs (after a rollback they may be ahead of the database). */
  forget(): void {
    this.seqs.clear();
  }

  private remember(user: string, seq: number): void {
    if (this.seqs.size >= MAX_REMEMBERED && !this.seqs.has(user)) this.seqs.clear();
    this.seqs.set(user, seq);
  }
}
