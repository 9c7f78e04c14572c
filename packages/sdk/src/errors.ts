import { type BodyOf, ErrorCode, type Op, ProtocolError } from '@synkey/protocol';

/** An ERROR frame from the server, thrown as an exception. Its `code` is the server's. */
export class ServerError extends ProtocolError {
  override name = 'ServerError';
  /** Wait at least this long before trying again (RATE_LIMITED). */
  readonly retryMs?: number;
  /** Where to reconnect (TLS_REQUIRED). */
  readonly url?: string;
  /** The server closes the link after this error. */
  readonly fatal: boolean;

  constructor(body: BodyOf<typeof Op.ERROR>) {
    super(body.code as ErrorCode, body.message);
    this.retryMs = body.retryMs;
    this.url = body.url;
    this.fatal = body.fatal ?? false;
  }
}

/**
 * The error every request still waiting on a link rejects with when the link goes down
 * (code UNAVAILABLE); `cause` holds what brought it down.
 */
export function linkDown(message: string, cause?: unknown): ProtocolError {
  const error = new ProtocolError(ErrorCode.Unavailable, message);
  if (cause !== undefined) error.cause = cause;
  return error;
}

/** True for a request that failed because its link went down or it got no reply in time. */
export function isLinkFailure(error: unknown): boolean {
  return (
    error instanceof ProtocolError &&
    !(error instanceof ServerError) &&
    (error.code === ErrorCode.Unavailable || error.code === ErrorCode.Timeout)
  );
}

const PERMANENT: ReadonlySet<string> = new Set([
  ErrorCode.Forbidden,
  ErrorCode.NotFound,
  ErrorCode.Invalid,
  ErrorCode.BadBody,
  ErrorCode.UnknownOp,
  ErrorCode.FrameTooLarge,
  ErrorCode.UnsupportedMedia,
  ErrorCode.MediaTooLarge,
]);

/** True for a server's answer to a request that sending the same request again cannot change. */
export function isPermanent(error: unknown): boolean {
  return error instanceof ServerError && PERMANENT.has(error.code);
}

/** A short text for an error of any type. */
export function describe(error: unknown): string {
  if (error instanceof ProtocolError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}
