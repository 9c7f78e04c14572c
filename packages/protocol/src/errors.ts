/** Error codes carried in ERROR bodies and thrown as {@link ProtocolError}. */
export const ErrorCode = {
  /** Bytes that are not a well-formed frame: short header, lying packLen, bad headerLen. */
  BadFrame: 'BAD_FRAME',
  /** A frame (or a whole message) longer than the receiver's limit. */
  FrameTooLarge: 'FRAME_TOO_LARGE',
  /** A header `ver` this side does not speak. */
  UnsupportedVersion: 'UNSUPPORTED_VERSION',
  /** A body that is not valid msgpack or does not match its op's schema. */
  BadBody: 'BAD_BODY',
  /** An op code this side does not know or does not accept in this direction. */
  UnknownOp: 'UNKNOWN_OP',
  /** A BATCH with too many frames, or a BATCH inside a BATCH. */
  BadBatch: 'BAD_BATCH',
  /** The link has not authenticated yet, or the token is invalid. */
  Unauthenticated: 'UNAUTHENTICATED',
  /** The token was valid once but has expired: fetch a new one and reconnect. */
  TokenExpired: 'TOKEN_EXPIRED',
  /** The user is not a member of the conversation, or the op is not allowed. */
  Forbidden: 'FORBIDDEN',
  /** The conversation, message or user does not exist. */
  NotFound: 'NOT_FOUND',
  /** A well-formed request with values the server refuses (empty text, too long, …). */
  Invalid: 'INVALID',
  /** A SEND's `prev` is not stored yet: nothing was stored; send again after the earlier message. */
  OutOfOrder: 'OUT_OF_ORDER',
  /** A media file whose bytes are not an accepted type (or do not match the declared one). */
  UnsupportedMedia: 'UNSUPPORTED_MEDIA',
  /** A media file over the size, pixel or duration limit (decompression bombs included). */
  MediaTooLarge: 'MEDIA_TOO_LARGE',
  /** An upload that is missing parts or chunks: send them, then complete again. */
  UploadIncomplete: 'UPLOAD_INCOMPLETE',
  /** Too many requests: wait `retryMs` and try again. */
  RateLimited: 'RATE_LIMITED',
  /** The server requires TLS: reconnect to `url`. */
  TlsRequired: 'TLS_REQUIRED',
  /** The link was silent for longer than the heartbeat allows. */
  Timeout: 'TIMEOUT',
  /** The server is shutting down or restarting: reconnect with backoff. */
  Unavailable: 'UNAVAILABLE',
  /** A bug on the server. The request may be retried. */
  Internal: 'INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** WebSocket close codes the server uses (4000–4999 is the application range). */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  Protocol: 4002,
  TooLarge: 4009,
  Unauthenticated: 4001,
  TokenExpired: 4003,
  HeartbeatTimeout: 4008,
  RateLimited: 4029,
  TlsRequired: 4015,
  Replaced: 4010,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** The one error type every protocol failure is reported as. */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The WebSocket close code that goes with a fatal error of `code`. */
export function closeCodeFor(code: string): CloseCode {
  switch (code) {
    case ErrorCode.FrameTooLarge:
      return CloseCode.TooLarge;
    case ErrorCode.Unauthenticated:
      return CloseCode.Unauthenticated;
    case ErrorCode.TokenExpired:
      return CloseCode.TokenExpired;
    case ErrorCode.RateLimited:
      return CloseCode.RateLimited;
    case ErrorCode.TlsRequired:
      return CloseCode.TlsRequired;
    case ErrorCode.Timeout:
      return CloseCode.HeartbeatTimeout;
    case ErrorCode.Unavailable:
      return CloseCode.GoingAway;
    default:
      return CloseCode.Protocol;
  }
}
