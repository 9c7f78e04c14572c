import { ErrorCode, ProtocolError } from './errors';
import { encodeFrame } from './frame';
import { Op, opName } from './ops';
import { type Body, decodeShape, encodeShape, type Shape } from './schema';

export { ConvKind, MsgKind, ReceiptKind } from './kinds';

/** A stored media file (image or voice) as messages reference it. */
const MediaShape = {
  /** Opaque media id; the file is served at `/media/<id>`, an image's thumbnail at `/media/<id>/thumb`. */
  id: [1, 'str'],
  /** The type the server detected from the bytes: image/jpeg, image/png, image/webp, image/gif, audio/webm, audio/ogg, audio/mp4. */
  mime: [2, 'str'],
  /** Bytes of the stored file. */
  size: [3, 'uint'],
  /** Image pixels (after applying EXIF orientation). */
  width: [4, 'uint', 'opt'],
  height: [5, 'uint', 'opt'],
  /** Voice length in ms. */
  durationMs: [6, 'uint', 'opt'],
  /** The file name the sender gave, for display only (never used as a path). */
  name: [7, 'str', 'opt'],
} as const satisfies Shape;

const MessageShape = {
  id: [1, 'uint'],
  conv: [2, 'uint'],
  sender: [3, 'str'],
  /** The sender's clientMsgId; only sent to the sender's own devices. */
  cmid: [4, 'str', 'opt'],
  convSeq: [5, 'uint'],
  ts: [6, 'uint'],
  kind: [7, 'uint'],
  text: [8, 'str', 'opt'],
  /** The image or voice file of an Image or Voice message. */
  media: [9, { obj: MediaShape }, 'opt'],
} as const satisfies Shape;

const MemberShape = {
  user: [1, 'str'],
  /** Highest convSeq delivered to one of this member's devices. */
  delivered: [2, 'uint'],
  /** Highest convSeq this member has read. */
  read: [3, 'uint'],
} as const satisfies Shape;

const ConversationShape = {
  id: [1, 'uint'],
  kind: [2, 'uint'],
  title: [3, 'str', 'opt'],
  members: [4, { list: { obj: MemberShape } }],
  /** convSeq of the newest message; 0 when empty. */
  lastSeq: [5, 'uint'],
  /** Messages from others after my read position. */
  unread: [6, 'uint'],
  last: [7, { obj: MessageShape }, 'opt'],
  createdAt: [8, 'uint'],
} as const satisfies Shape;

const ReceiptShape = {
  conv: [1, 'uint'],
  user: [2, 'str'],
  kind: [3, 'uint'],
  upTo: [4, 'uint'],
} as const satisfies Shape;

/** A timeline event: exactly one field is set; a reader skips (but counts) an event it does not know. */
const EventShape = {
  msg: [1, { obj: MessageShape }, 'opt'],
  receipt: [2, { obj: ReceiptShape }, 'opt'],
  conv: [3, { obj: ConversationShape }, 'opt'],
} as const satisfies Shape;

const Empty = {} as const satisfies Shape;

/** The body schema of every op except BATCH. */
export const schemas = {
  [Op.AUTH]: { token: [1, 'str'], device: [2, 'str'], client: [3, 'str', 'opt'] },
  [Op.AUTH_OK]: {
    user: [1, 'str'],
    device: [2, 'str'],
    epoch: [3, 'uint'],
    /** The user's newest timeline seq. */
    seq: [4, 'uint'],
    heartbeatMs: [5, 'uint'],
    maxFrame: [6, 'uint'],
    time: [7, 'uint'],
  },
  /**
   * A client's PING is empty. The server's heartbeat PING carries the user's newest timeline SynKey (what
   * a NOTIFY carries), so a client that missed a NOTIFY sees that it is behind within one heartbeat.
   */
  [Op.PING]: { epoch: [1, 'uint', 'opt'], seq: [2, 'uint', 'opt'] },
  [Op.PONG]: Empty,
  [Op.ERROR]: {
    code: [1, 'str'],
    message: [2, 'str'],
    retryMs: [3, 'uint', 'opt'],
    url: [4, 'str', 'opt'],
    /** The sender closes the link after this frame. */
    fatal: [5, 'bool', 'opt'],
  },
  [Op.OK]: Empty,
  [Op.NOTIFY]: { epoch: [1, 'uint'], seq: [2, 'uint'] },
  [Op.SEND]: {
    cmid: [1, 'str'],
    conv: [2, 'uint'],
    kind: [3, 'uint'],
    text: [4, 'str', 'opt'],
    /** The cmid of the sender's previous message in this conversation that is not acknowledged yet. */
    prev: [5, 'str', 'opt'],
    /** The media id of an Image or Voice message: an upload of this user that completed. Text is then the caption. */
    media: [6, 'str', 'opt'],
  },
  [Op.SEND_ACK]: { cmid: [1, 'str'], id: [2, 'uint'], convSeq: [3, 'uint'], ts: [4, 'uint'] },
  [Op.SYNC]: { epoch: [1, 'uint'], seq: [2, 'uint'], limit: [3, 'uint', 'opt'] },
  [Op.SYNC_REPLY]: {
    epoch: [1, 'uint'],
    /** The SynKey seq the events follow: event i has seq `from + i + 1`. */
    from: [2, 'uint'],
    /** The new SynKey seq: `from + events.length`. */
    seq: [3, 'uint'],
    more: [4, 'bool'],
    /** The client's epoch is unknown: drop local state and sync again from seq 0. */
    reset: [5, 'bool', 'opt'],
    events: [6, { list: { obj: EventShape } }],
  },
  [Op.ACK]: { epoch: [1, 'uint'], seq: [2, 'uint'] },
  [Op.POLL]: { epoch: [1, 'uint'], seq: [2, 'uint'], waitMs: [3, 'uint', 'opt'] },
  [Op.READ]: { conv: [1, 'uint'], upTo: [2, 'uint'] },
  [Op.CONV_CREATE]: { kind: [1, 'uint'], members: [2, { list: 'str' }], title: [3, 'str', 'opt'] },
  [Op.CONV]: { conv: [1, { obj: ConversationShape }] },
  [Op.CONV_LIST]: Empty,
  [Op.CONV_LIST_REPLY]: { convs: [1, { list: { obj: ConversationShape } }] },
  [Op.HISTORY]: { conv: [1, 'uint'], before: [2, 'uint', 'opt'], limit: [3, 'uint', 'opt'] },
  [Op.HISTORY_REPLY]: { msgs: [1, { list: { obj: MessageShape } }], more: [2, 'bool'] },
  [Op.VOICE_PART]: {
    /** Client-chosen id of this voice upload (like a cmid: unique per sender, reused on every resend). */
    upload: [1, 'str'],
    /** Part number from 0. */
    index: [2, 'uint'],
    data: [3, 'bytes'],
    /** This is the final part: the upload has `index + 1` parts. */
    last: [4, 'bool', 'opt'],
    /** On the final part: the recorder's MIME type and the recording's length. */
    mime: [5, 'str', 'opt'],
    durationMs: [6, 'uint', 'opt'],
  },
  [Op.PART_ACK]: {
    upload: [1, 'str'],
    index: [2, 'uint'],
    /** Set once every part is held and the file is stored: the media to reference in SEND. */
    media: [3, { obj: MediaShape }, 'opt'],
  },
} as const satisfies Record<Exclude<Op, typeof Op.BATCH>, Shape>;

/** An op that has a body schema (every op but BATCH). */
export type BodyOp = keyof typeof schemas;
/** The body type of op `O`. */
export type BodyOf<O extends BodyOp> = Body<(typeof schemas)[O]>;

export type Message = Body<typeof MessageShape>;
export type Media = Body<typeof MediaShape>;
export type Member = Body<typeof MemberShape>;
export type Conversation = Body<typeof ConversationShape>;
export type Receipt = Body<typeof ReceiptShape>;
export type SyncEvent = Body<typeof EventShape>;

function schemaOf(op: number): Shape {
  const s = (schemas as Record<number, Shape>)[op];
  if (!s) throw new ProtocolError(ErrorCode.UnknownOp, `unknown op ${opName(op)}`);
  return s;
}

/** Encodes the body of `op`. */
export function encodeBody<O extends BodyOp>(op: O, body: BodyOf<O>): Uint8Array {
  return encodeShape(schemaOf(op), body as never, opName(op));
}

/** Decodes the body of `op`; throws {@link ProtocolError} (UNKNOWN_OP or BAD_BODY). */
export function decodeBody<O extends BodyOp>(op: O, bytes: Uint8Array): BodyOf<O> {
  return decodeShape(schemaOf(op), bytes, opName(op)) as BodyOf<O>;
}

/** Encodes a whole frame: header plus the encoded body of `op`. */
export function frame<O extends BodyOp>(op: O, seq: number, body: BodyOf<O>): Uint8Array {
  return encodeFrame(op, seq, encodeBody(op, body));
}
