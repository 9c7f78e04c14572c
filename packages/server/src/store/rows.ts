import type { Media, Message } from '@synkey/protocol';

/** What a timeline row refers to; the values equal the field numbers of the wire event. */
export const EventKind = { Message: 1, Receipt: 2, Conversation: 3 } as const;
export type EventKind = (typeof EventKind)[keyof typeof EventKind];

/** A row of the `messages` table joined with its media ({@link MEDIA_COLUMNS}; all null without media). */
export interface MessageRow {
  id: number;
  conv_id: number;
  conv_seq: number;
  sender: string;
  cmid: string;
  kind: number;
  text: string | null;
  ts: number;
  media_id: string | null;
  media_mime: string | null;
  media_size: number | null;
  media_width: number | null;
  media_height: number | null;
  media_duration_ms: number | null;
  media_name: string | null;
}

/** The media columns of a {@link MessageRow}, for a query that has {@link mediaJoin} of the message alias. */
export const MEDIA_COLUMNS = `mf.mime AS media_mime, mf.size AS media_size, mf.width AS media_width,
  mf.height AS media_height, md.duration_ms AS media_duration_ms, md.name AS media_name`;

/** Joins a message (SQL alias `msg`) to its media record and stored file as `md` and `mf`. */
export function mediaJoin(msg: string): string {
  return `LEFT JOIN media md ON md.id = ${msg}.media_id LEFT JOIN media_files mf ON mf.id = md.file_id`;
}

/** A media row as the wire carries it: optional fields only when known. */
export function toMedia(row: {
  id: string;
  mime: string;
  size: number;
  width: number | null;
  height: number | null;
  duration_ms: number | null;
  name: string | null;
}): Media {
  const media: Media = { id: row.id, mime: row.mime, size: row.size };
  if (row.width !== null) media.width = row.width;
  if (row.height !== null) media.height = row.height;
  if (row.duration_ms !== null) media.durationMs = row.duration_ms;
  if (row.name !== null) media.name = row.name;
  return media;
}

/** The message as `viewer` sees it: the cmid is shown only to its sender. */
export function toMessage(row: MessageRow, viewer: string): Message {
  const msg: Message = {
    id: row.id,
    conv: row.conv_id,
    sender: row.sender,
    convSeq: row.conv_seq,
    ts: row.ts,
    kind: row.kind,
  };
  if (row.sender === viewer) msg.cmid = row.cmid;
  if (row.text !== null) msg.text = row.text;
  if (row.media_id !== null && row.media_mime !== null && row.media_size !== null) {
    msg.media = toMedia({
      id: row.media_id,
      mime: row.media_mime,
      size: row.media_size,
      width: row.media_width,
      height: row.media_height,
      duration_ms: row.media_duration_ms,
      name: row.media_name,
    });
  }
  return msg;
}
