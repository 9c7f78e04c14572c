import { type BodyOf, Op } from '@synkey/protocol';

/** The reply op of every request op. */
export const replyOp = {
  [Op.AUTH]: Op.AUTH_OK,
  [Op.SEND]: Op.SEND_ACK,
  [Op.SYNC]: Op.SYNC_REPLY,
  [Op.ACK]: Op.OK,
  [Op.POLL]: Op.NOTIFY,
  [Op.READ]: Op.OK,
  [Op.CONV_CREATE]: Op.CONV,
  [Op.CONV_LIST]: Op.CONV_LIST_REPLY,
  [Op.HISTORY]: Op.HISTORY_REPLY,
  [Op.VOICE_PART]: Op.PART_ACK,
} as const;

/** An op the client sends as a request and the server answers with the same seq. */
export type RequestOp = keyof typeof replyOp;
/** The ops a caller of {@link Transport.request} may send (AUTH and POLL belong to the transport). */
export type CallOp = Exclude<RequestOp, typeof Op.AUTH | typeof Op.POLL>;
/** The body of the reply to request op `O`. */
export type ReplyOf<O extends RequestOp> = BodyOf<(typeof replyOp)[O]>;

export type AuthBody = BodyOf<typeof Op.AUTH>;
export type AuthOk = BodyOf<typeof Op.AUTH_OK>;
export type Notify = BodyOf<typeof Op.NOTIFY>;

/** Sends a request on whatever link is current and resolves with its reply. */
export type Requester = <O extends CallOp>(op: O, body: BodyOf<O>, timeoutMs?: number) => Promise<ReplyOf<O>>;

/**
 * One authenticated link to the server: a WebSocket (long link) or a series of HTTP requests
 * (short link). A transport is opened once and never reopened; the connection manager makes a new
 * one for every (re)connect.
 */
export interface Transport {
  readonly kind: 'ws' | 'http';
  /** The AUTH_OK the link was opened with. */
  readonly auth: AuthOk;
  /** Settles once, with the reason, when the link is down; every pending request has rejected by then. */
  readonly closed: Promise<Error>;
  /**
   * Sends a request. Requests made in the same tick travel together (one BATCH, or one HTTP body)
   * and reach the server in call order. Rejects with a {@link ServerError} when the server answers
   * ERROR, with TIMEOUT after `timeoutMs`, with UNAVAILABLE when the link goes down.
   */
  request<O extends CallOp>(op: O, body: BodyOf<O>, timeoutMs: number): Promise<ReplyOf<O>>;
  /** Takes the link down; `reason` becomes the value of {@link Transport.closed}. */
  close(reason?: Error): void;
}

/** What every transport needs to open. */
export interface LinkOptions {
  /** The first frame of the link: token and device. */
  auth: AuthBody;
  /** Time allowed to reach the server and get AUTH_OK. */
  connectTimeoutMs: number;
  /** The user's timeline grew (a NOTIFY push, or the answer to a POLL). */
  onNotify(notify: Notify): void;
  /**
   * The server told the user's newest SynKey without news: a heartbeat PING, or a POLL that ran out.
   * A client that applied less than that missed a NOTIFY.
   */
  onHead?(head: Notify): void;
  /** A non-fatal ERROR the server sent outside any request (seq 0). */
  onError?(error: Error): void;
}

/** Receive limits for frames from the server: generous, the server is trusted to this extent. */
export const INBOUND_LIMITS = { maxFrame: 16 << 20, maxFrames: 4096 };
/** Most frames one message may carry to the server. */
export const MAX_FRAMES_OUT = 256;
