import { type BodyOf, type Conversation, ConvKind, ErrorCode, Limits, type Op, ProtocolError } from '@synkey/protocol';
import type Database from 'better-sqlite3';
import { EventKind } from './rows';
import type { Summaries } from './summaries';
import type { Timeline } from './timeline';
import { checkConvKind, checkId, checkTitle, checkUint, invalid } from './validate';

/** A conversation together with the caller's membership in it. */
export interface Membership {
  conv: number;
  kind: number;
  lastSeq: number;
  lastTs: number;
  delivered: number;
  read: number;
}

interface MembershipRow {
  id: number;
  kind: number;
  last_seq: number;
  last_ts: number;
  delivered_seq: number | null;
  read_seq: number | null;
  is_member: 0 | 1;
}

/** Conversation rows: membership checks and creation. */
export class Conversations {
  private readonly membership: Database.Statement<[string, number], MembershipRow>;
  private readonly byDirectKey: Database.Statement<[string], number>;
  private readonly insertUser: Database.Statement<[string, number]>;
  private readonly insertConv: Database.Statement<[number, string | null, string | null, number, number], number>;
  private readonly insertMember: Database.Statement<[number, string, number]>;

  constructor(
    db: Database.Database,
    private readonly timeline: Timeline,
    private readonly summaries: Summaries,
  ) {
    this.membership = db.prepare<[string, number], MembershipRow>(
      `SELECT c.id, c.kind, c.last_seq, c.last_ts, me.delivered_seq, me.read_seq, me.user_id IS NOT NULL AS is_member
       FROM conversations c LEFT JOIN members me ON me.conv_id = c.id AND me.user_id = ?
       WHERE c.id = ?`,
    );
    this.byDirectKey = db.prepare<[string], number>('SELECT id FROM conversations WHERE direct_key = ?').pluck();
    this.insertUser = db.prepare<[string, number]>('INSERT OR IGNORE INTO users (id, created_at) VALUES (?, ?)');
    this.insertConv = db
      .prepare<[number, string | null, string | null, number, number], number>(
        `INSERT INTO conversations (kind, title, direct_key, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?) RETURNING id`,
      )
      .pluck();
    this.insertMember = db.prepare<[number, string, number]>(
      'INSERT INTO members (conv_id, user_id, joined_at) VALUES (?, ?, ?)',
    );
  }

  /** The conversation and `user`'s place in it; NOT_FOUND if unknown, FORBIDDEN if `user` is not a member. */
  requireMember(conv: number, user: string): Membership {
    checkUint(conv, 'conv');
    const row = this.membership.get(user, conv);
    if (!row) throw new ProtocolError(ErrorCode.NotFound, `conversation ${conv} does not exist`);
    if (!row.is_member) throw new ProtocolError(ErrorCode.Forbidden, `not a member of conversation ${conv}`);
    return {
      conv: row.id,
      kind: row.kind,
      lastSeq: row.last_seq,
      lastTs: row.last_ts,
      delivered: row.delivered_seq ?? 0,
      read: row.read_seq ?? 0,
    };
  }

  /**
   * Creates a conversation of `user` and `req.members` (unknown users are created) and appends a conversation
   * event to every member's timeline. A direct conversation of an existing pair is returned as is with no
   * events; a direct conversation has no title.
   */
  create(user: string, req: BodyOf<typeof Op.CONV_CREATE>): { conv: Conversation; grew: string[] } {
    checkId(user, 'user');
    const kind = checkConvKind(req.kind);
    if (!Array.isArray(req.members)) invalid('members must be a list');
    const users = [...new Set([user, ...req.members.map((m) => checkId(m, 'member'))])];
    let title: string | null = null;
    let directKey: string | null = null;
    if (kind === ConvKind.Direct) {
      if (users.length !== 2) invalid('a direct conversation needs exactly one other user');
      directKey = JSON.stringify(users.sort());
      const existing = this.byDirectKey.get(directKey);
      if (existing !== undefined) return { conv: this.summaryOf(user, existing), grew: [] };
    } else {
      if (users.length > Limits.maxMembers) invalid(`a group has at most ${Limits.maxMembers} members`);
      title = checkTitle(req.title);
    }

    const now = Date.now();
    for (const u of users) this.insertUser.run(u, now);
    const conv = this.insertConv.get(kind, title, directKey, now, now) as number;
    for (const u of users) this.insertMember.run(conv, u, now);
    const grew = this.timeline.appendToMembers({ kind: EventKind.Conversation, conv });
    return { conv: this.summaryOf(user, conv), grew };
  }

  private summaryOf(user: string, conv: number): Conversation {
    const summary = this.summaries.one(user, conv);
    if (!summary) throw new Error(`conversation ${conv} has no summary for member ${user}`);
    return summary;
  }
}
