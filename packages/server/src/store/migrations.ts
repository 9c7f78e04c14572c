import { randomInt } from 'node:crypto';
import type Database from 'better-sqlite3';

/** One schema step. Step N (1-based) brings the database from `user_version` N-1 to N. */
export interface Migration {
  readonly name: string;
  up(db: Database.Database): void;
}

const initialSchema = `
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE users (
  id           TEXT PRIMARY KEY,
  name         TEXT,
  timeline_seq INTEGER NOT NULL DEFAULT 0,
  created_at   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE devices (
  user_id   TEXT NOT NULL REFERENCES users(id),
  device_id TEXT NOT NULL,
  acked_seq INTEGER NOT NULL DEFAULT 0,
  last_seen INTEGER NOT NULL,
  PRIMARY KEY (user_id, device_id)
) WITHOUT ROWID;

CREATE TABLE conversations (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  kind       INTEGER NOT NULL,
  title      TEXT,
  direct_key TEXT UNIQUE,
  last_seq   INTEGER NOT NULL DEFAULT 0,
  last_ts    INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE members (
  conv_id       INTEGER NOT NULL REFERENCES conversations(id),
  user_id       TEXT NOT NULL REFERENCES users(id),
  delivered_seq INTEGER NOT NULL DEFAULT 0,
  read_seq      INTEGER NOT NULL DEFAULT 0,
  joined_at     INTEGER NOT NULL,
  PRIMARY KEY (conv_id, user_id)
) WITHOUT ROWID;
CREATE INDEX members_by_user ON members(user_id);

-- UNIQUE(sender, cmid) is the processed-client-ID record that makes SEND idempotent.
CREATE TABLE messages (
  id       INTEGER PRIMARY KEY AUTOINCREMENT,
  conv_id  INTEGER NOT NULL REFERENCES conversations(id),
  conv_seq INTEGER NOT NULL,
  sender   TEXT NOT NULL REFERENCES users(id),
  cmid     TEXT NOT NULL,
  kind     INTEGER NOT NULL,
  text     TEXT,
  ts       INTEGER NOT NULL,
  UNIQUE (sender, cmid),
  UNIQUE (conv_id, conv_seq)
);

-- kind 1: message (msg_id, conv_id); 2: receipt (conv_id, r_user, r_kind, r_upto); 3: conversation (conv_id).
CREATE TABLE timeline (
  user_id TEXT NOT NULL REFERENCES users(id),
  seq     INTEGER NOT NULL,
  kind    INTEGER NOT NULL,
  msg_id  INTEGER REFERENCES messages(id),
  conv_id INTEGER,
  r_user  TEXT,
  r_kind  INTEGER,
  r_upto  INTEGER,
  PRIMARY KEY (user_id, seq)
) WITHOUT ROWID;
`;

// Files live on disk under server-made names (never a client's); rows point at them by name. A media row
// is one user's record of a stored file (dedupe gives several users' records one file); media_convs says
// which conversations it was sent to, for access control. Image chunks are files only (presence = held);
// voice parts are small and live here until the note is joined.
const mediaSchema = `
CREATE TABLE media_files (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  source_sha256 TEXT NOT NULL UNIQUE,
  source_size   INTEGER NOT NULL,
  file          TEXT NOT NULL,
  thumb         TEXT,
  thumb_mime    TEXT,
  mime          TEXT NOT NULL,
  size          INTEGER NOT NULL,
  width         INTEGER,
  height        INTEGER,
  created_at    INTEGER NOT NULL
);
CREATE TABLE media (
  id          TEXT PRIMARY KEY,
  file_id     INTEGER NOT NULL REFERENCES media_files(id),
  owner       TEXT NOT NULL,
  name        TEXT,
  duration_ms INTEGER,
  created_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE media_convs (
  media_id TEXT NOT NULL REFERENCES media(id),
  conv_id  INTEGER NOT NULL REFERENCES conversations(id),
  PRIMARY KEY (media_id, conv_id)
) WITHOUT ROWID;
CREATE TABLE uploads (
  id         TEXT PRIMARY KEY,
  owner      TEXT NOT NULL,
  size       INTEGER NOT NULL,
  sha256     TEXT NOT NULL,
  name       TEXT,
  chunk_size INTEGER NOT NULL,
  chunks     INTEGER NOT NULL,
  media_id   TEXT REFERENCES media(id),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX uploads_by_owner ON uploads(owner, created_at);
CREATE INDEX uploads_by_age ON uploads(updated_at);
CREATE TABLE voice_uploads (
  owner       TEXT NOT NULL,
  upload      TEXT NOT NULL,
  last_index  INTEGER,
  duration_ms INTEGER,
  bytes       INTEGER NOT NULL DEFAULT 0,
  media_id    TEXT REFERENCES media(id),
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (owner, upload)
) WITHOUT ROWID;
CREATE INDEX voice_uploads_by_age ON voice_uploads(updated_at);
CREATE TABLE voice_parts (
  owner  TEXT NOT NULL,
  upload TEXT NOT NULL,
  idx    INTEGER NOT NULL,
  data   BLOB NOT NULL,
  UNIQUE (owner, upload, idx)
);
ALTER TABLE messages ADD COLUMN media_id TEXT REFERENCES media(id);
`;

// Deleting unsent media (PROTOCOL.md §13): pages of media by age, whether a message or upload names one,
// whether a stored file is still used. Without the indexes on the referencing columns, each deleted media
// row would make its foreign-key check scan all messages.
const mediaRetentionIndexes = `
CREATE INDEX media_by_age ON media(created_at);
CREATE INDEX media_by_file ON media(file_id);
CREATE INDEX messages_by_media ON messages(media_id) WHERE media_id IS NOT NULL;
CREATE INDEX uploads_by_media ON uploads(media_id) WHERE media_id IS NOT NULL;
CREATE INDEX voice_uploads_by_media ON voice_uploads(media_id) WHERE media_id IS NOT NULL;
`;

/** The schema history, oldest first. Append new steps; never edit one that has shipped. */
export const migrations: readonly Migration[] = [
  {
    name: 'initial schema and epoch',
    up(db) {
      db.exec(initialSchema);
      db.prepare("INSERT INTO meta (key, value) VALUES ('epoch', ?)").run(String(randomInt(1, 2 ** 32)));
    },
  },
  {
    name: 'media: stored files, media records, uploads, voice parts, media on messages',
    up(db) {
      db.exec(mediaSchema);
    },
  },
  {
    name: 'media: indexes for deleting unsent media',
    up(db) {
      db.exec(mediaRetentionIndexes);
    },
  },
];

/**
 * Brings the database up to the newest schema, one transaction per step, tracked by `PRAGMA user_version`.
 * Throws if the database was written by a newer server.
 */
export function migrate(db: Database.Database, steps: readonly Migration[] = migrations): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > steps.length) {
    throw new Error(`database schema version ${current} is newer than this server knows (${steps.length})`);
  }
  for (let version = current; version < steps.length; version++) {
    const step = steps[version] as Migration;
    db.transaction(() => {
      step.up(db);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}
