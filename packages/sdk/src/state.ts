import type { Conversation, Media, Member, Message } from '@synkey/protocol';
import type { OutboxEntry } from './store';

/**
 * Where a message stands.
 * - Mine: `sending` → `sent` (the server stored it) → `delivered` (a device of every other member
 *   acknowledged it) → `read` (every other member read it); or `failed` (the outbox gave up).
 * - Others': `delivered` (it reached this device), then `read` once I read up to it.
 */
export type MessageState = 'sending' | 'sent' | 'delivered' | 'read' | 'failed';

/** A message as the engine shows it. */
export interface ChatMessage {
  /** The server's id; absent until the server stored the message. */
  id?: number;
  /** The clientMsgId of a message sent by this user (from any of their devices). */
  cmid?: string;
  conv: number;
  sender: string;
  /** The position in the conversation (1, 2, 3…); absent until the server stored the message. */
  convSeq?: number;
  /** Server time in ms; local time of `send()` until the server stored the message. */
  ts: number;
  kind: number;
  text?: string;
  state: MessageState;
  /** Why the last attempt failed, for a `failed` message. */
  error?: string;
  /**
   * The file of an image or voice message, as the server stored it (dimensions, duration, type):
   * on others' messages, and on mine once the upload is done. Fetch it with `mediaUrl(media)`.
   */
  media?: Media;
  /** My image or voice message that the server has not acknowledged yet: the local file, for preview and playback. */
  local?: LocalMedia;
  /** The fraction of the file uploaded (0..1) while the upload runs; absent otherwise. */
  progress?: number;
}

/** The local file of an unsent image or voice message. */
export interface LocalMedia {
  file: Blob;
  /** The type the page gave (the server detects the real one). */
  mime: string;
  size: number;
  name?: string;
  /** Image pixels as displayed (read from the file's header). */
  width?: number;
  height?: number;
  /** Voice length. */
  durationMs?: number;
}

/** The state of a stored message, from the member positions in its conversation. */
export function messageState(msg: Message, conv: Conversation | undefined, me: string): MessageState {
  return positionState(msg, conv?.members ?? [], me);
}

/** The state of a stored message (its sender and convSeq) from a conversation's member positions. */
export function positionState(
  msg: Pick<Message, 'sender' | 'convSeq'>,
  members: readonly Member[],
  me: string,
): MessageState {
  if (msg.sender !== me) return (members.find((m) => m.user === me)?.read ?? 0) >= msg.convSeq ? 'read' : 'delivered';
  const others = members.filter((m) => m.user !== me);
  if (others.length === 0) return 'sent';
  if (others.every((m) => m.read >= msg.convSeq)) return 'read';
  if (others.every((m) => m.delivered >= msg.convSeq)) return 'delivered';
  return 'sent';
}

/** How far along a state is; unsent states rank lowest. */
const RANK: Record<MessageState, number> = { sending: 0, failed: 0, sent: 1, delivered: 2, read: 3 };

/**
 * `msg` with the state that member positions `members` give it, as `me` sees it: for a `positions`
 * event. An unsent message, or one whose state is that far already, comes back as it is: positions
 * only rise, so an update that arrives late never lowers a state.
 */
export function withPositions(msg: ChatMessage, members: readonly Member[], me: string): ChatMessage {
  if (msg.convSeq === undefined || msg.id === undefined) return msg;
  const state = positionState({ sender: msg.sender, convSeq: msg.convSeq }, members, me);
  return RANK[state] > RANK[msg.state] ? { ...msg, state } : msg;
}

/** A stored message with its state. */
export function storedMessage(msg: Message, conv: Conversation | undefined, me: string): ChatMessage {
  return { ...msg, state: messageState(msg, conv, me) };
}

/** An outbox entry as a message; `progress` while its file uploads. */
export function outboxMessage(entry: OutboxEntry, me: string, progress?: number): ChatMessage {
  const msg: ChatMessage = {
    cmid: entry.cmid,
    conv: entry.conv,
    sender: me,
    ts: entry.createdAt,
    kind: entry.kind,
    state: entry.state,
  };
  if (entry.text !== undefined) msg.text = entry.text;
  if (entry.error !== undefined) msg.error = entry.error;
  const { file, upload } = entry;
  if (file && upload) {
    const local: LocalMedia = { file, mime: upload.mime, size: upload.size };
    if (upload.name !== undefined) local.name = upload.name;
    if (upload.width !== undefined) local.width = upload.width;
    if (upload.height !== undefined) local.height = upload.height;
    if (upload.durationMs !== undefined) local.durationMs = upload.durationMs;
    msg.local = local;
  }
  if (upload?.media) msg.media = upload.media;
  if (progress !== undefined) msg.progress = progress;
  return msg;
}
