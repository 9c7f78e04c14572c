import type { Conversation, Member } from '@synkey/protocol';
import type Database from 'better-sqlite3';
import { MEDIA_COLUMNS, type MessageRow, mediaJoin, toMessage } from './rows';

interface ConvRow {
  id: number;
  kind: number;
  title: string | null;
  last_seq: number;
  created_at: number;
}
interface MemberRow {
  conv_id: number;
  user_id: string;
  delivered_seq: number;
  read_seq: number;
}
interface UnreadRow {
  conv_id: number;
  n: number;
}

type Scope = { viewer: string } | { viewer: string; ids: string };

/** The four grouped queries that build summaries for one scope of the viewer's memberships (`me`). */
interface ScopeQueries {
  convs: Database.Statement<[Scope], ConvRow>;
  members: Database.Statement<[Scope], MemberRow>;
  lasts: Database.Statement<[Scope], MessageRow>;
  unread: Database.Statement<[Scope], UnreadRow>;
}

function prepareScope(db: Database.Database, where: string): ScopeQueries {
  return {
    convs: db.prepare<[Scope], ConvRow>(
      `SELECT c.id, c.kind, c.title, c.last_seq, c.created_at
       FROM members me JOIN conversations c ON c.id = me.conv_id
       WHERE ${where} ORDER BY c.updated_at DESC, c.id DESC`,
    ),
    members: db.prepare<[Scope], MemberRow>(
      `SELECT m.conv_id, m.user_id, m.delivered_seq, m.read_seq
       FROM members me JOIN members m ON m.conv_id = me.conv_id
       WHERE ${where} ORDER BY m.conv_id, m.user_id`,
    ),
    lasts: db.prepare<[Scope], MessageRow>(
      `SELECT msg.*, ${MEDIA_COLUMNS} FROM members me
       JOIN conversations c ON c.id = me.conv_id
       JOIN messages msg ON msg.conv_id = c.id AND msg.conv_seq = c.last_seq
       ${mediaJoin('msg')}
       WHERE ${where}`,
    ),
    unread: db.prepare<[Scope], UnreadRow>(
      `SELECT me.conv_id, COUNT(*) AS n FROM members me
       JOIN messages msg ON msg.conv_id = me.conv_id AND msg.conv_seq > me.read_seq
       WHERE ${where} AND msg.sender <> me.user_id
       GROUP BY me.conv_id`,
    ),
  };
}

/**
 * Builds {@link Conversation} summaries as one member sees them, with a fixed number of grouped queries
 * however many conversations are asked for.
 */
export class Summaries {
  private readonly all: ScopeQueries;
  private readonly some: ScopeQueries;

  constructor(db: Database.Database) {
    this.all = prepareScope(db, 'me.user_id = @viewer');
    this.some = prepareScope(db, 'me.user_id = @viewer AND me.conv_id IN (SELECT value FROM json_each(@ids))');
  }

  /** Every conversation `viewer` is a member of, most recent activity first. */
  list(viewer: string): Conversation[] {
    return build(this.all, { viewer }, viewer);
  }

  /** The conversations among `ids` that `viewer` is a member of, by id. */
  byIds(viewer: string, ids: Iterable<number>): Map<number, Conversation> {
    const convs = build(this.some, { viewer, ids: JSON.stringify([...ids]) }, viewer);
    return new Map(convs.map((c) => [c.id, c]));
  }

  /** One conversation as `viewer` sees it; undefined when it does not exist or viewer is not a member. */
  one(viewer: string, id: number): Conversation | undefined {
    return this.byIds(viewer, [id]).get(id);
  }
}

function build(q: ScopeQueries, scope: Scope, viewer: string): Conversation[] {
  const convs = q.convs.all(scope);
  if (convs.length === 0) return [];
  const members = new Map<number, Member[]>();
  for (const m of q.members.all(scope)) {
    const member: Member = { user: m.user_id, delivered: m.delivered_seq, read: m.read_seq };
    const list = members.get(m.conv_id);
    if (list) list.push(member);
    else members.set(m.conv_id, [member]);
  }
  const lasts = new Map(q.lasts.all(scope).map((row) => [row.conv_id, row]));
  const unread = new Map(q.unread.all(scope).map((row) => [row.conv_id, row.n]));
  return convs.map((c) => {
    const conv: Conversation = {
      id: c.id,
      kind: c.kind,
      members: members.get(c.id) ?? [],
      lastSeq: c.last_seq,
      unread: unread.get(c.id) ?? 0,
      createdAt: c.created_at,
    };
    if (c.title !== null) conv.title = c.title;
    const last = lasts.get(c.id);
    if (last) conv.last = toMessage(last, viewer);
    return conv;
  });
}
