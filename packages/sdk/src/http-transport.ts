import {
  type BodyOf,
  concatFrames,
  decodeBody,
  decodeFrames,
  ErrorCode,
  type Frame,
  frame,
  Limits,
  Op,
  ProtocolError,
} from '@synkey/protocol';
import { describe, isLinkFailure, linkDown, ServerError } from './errors';
import { chunkFrames, FrameQueue } from './frame-queue';
import { PendingRequests } from './pending';
import {
  type AuthOk,
  type CallOp,
  INBOUND_LIMITS,
  type LinkOptions,
  MAX_FRAMES_OUT,
  type Notify,
  type ReplyOf,
  type Transport,
} from './transport';

/** The part of `fetch` the transport uses. */
export type FetchLike = (
  url: string,
  init: { method: 'POST'; headers: Record<string, string>; body: Uint8Array<ArrayBuffer>; signal: AbortSignal },
) => Promise<{ readonly ok: boolean; readonly status: number; arrayBuffer(): Promise<ArrayBuffer> }>;

/** Options of {@link connectHttp}. */
export interface HttpLinkOptions extends LinkOptions {
  /** The URL of the server's `/link` endpoint. */
  url: string;
  fetch: FetchLike;
  /** How long the server may hold a POLL (default 25 s). */
  pollWaitMs?: number;
  /** How long a request body may take beyond the requests' own timeouts before the link is declared dead. */
  requestTimeoutMs: number;
}

/** The default POLL hold. */
export const POLL_WAIT_MS = 25_000;
/** A POLL that comes back sooner without news makes the loop pause this long (a server that cannot hold). */
const POLL_FLOOR_MS = 1_000;

/**
 * Opens an HTTP short link: every request is a POST of frames to `/link` starting with AUTH, the
 * response is the frames AUTH_OK and the replies. Resolves once the first AUTH_OK arrives; then a
 * POLL loop stands in for NOTIFY. Requests go out one POST at a time, so the server sees them in
 * call order; the POLL has its own POST beside them.
 */
export async function connectHttp(options: HttpLinkOptions): Promise<Transport> {
  const link = new HttpLink(options);
  const replies = await link.post([], options.connectTimeoutMs).catch((error: Error) => {
    link.close(error);
    throw error;
  });
  link.start(decodeBody(Op.AUTH_OK, (replies[0] as Frame).body));
  return link;
}

class HttpLink implements Transport {
  readonly kind = 'http';
  auth!: AuthOk;
  readonly closed: Promise<Error>;
  private resolveClosed!: (reason: Error) => void;
  private readonly pending = new PendingRequests();
  private readonly queue = new FrameQueue((frames) => this.enqueue(frames));
  private readonly controllers = new Set<AbortController>();
  /** Aborted when the link goes down: ends the poll loop's pauses. */
  private readonly stop = new AbortController();
  private readonly authBytes: number;
  private backlog: Uint8Array[] = [];
  private posting = false;
  private down: Error | undefined;

  constructor(private readonly options: HttpLinkOptions) {
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    this.authBytes = frame(Op.AUTH, 0, options.auth).length;
  }

  start(auth: AuthOk): void {
    this.auth = auth;
    void this.pollLoop();
  }

  request<O extends CallOp>(op: O, body: BodyOf<O>, timeoutMs: number): Promise<ReplyOf<O>> {
    if (this.down) return Promise.reject(linkDown('the link is down', this.down));
    return this.pending.send(op, body, timeoutMs, (f) => this.queue.push(f));
  }

  close(reason: Error = linkDown('closed by the client')): void {
    if (this.down) return;
    this.down = reason;
    this.queue.clear();
    this.backlog = [];
    for (const c of this.controllers) c.abort();
    this.stop.abort();
    this.pending.rejectAll(linkDown(`link down: ${reason.message}`, reason));
    this.resolveClosed(reason);
  }

  /**
   * POSTs AUTH followed by `frames` and returns the response frames, AUTH_OK first. Throws the
   * server's ERROR when it refused the AUTH, UNAVAILABLE when the request failed or took too long.
   */
  async post(frames: readonly Uint8Array[], timeoutMs: number): Promise<Frame[]> {
    const controller = new AbortController();
    this.controllers.add(controller);
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      const body = concatFrames([frame(Op.AUTH, this.pending.nextSeq(), this.options.auth), ...frames]);
      let status: number;
      let bytes: Uint8Array;
      try {
        const response = await this.options.fetch(this.options.url, {
          method: 'POST',
          headers: { 'content-type': 'application/octet-stream' },
          body: body as Uint8Array<ArrayBuffer>,
          signal: controller.signal,
        });
        status = response.status;
        bytes = new Uint8Array(await response.arrayBuffer());
      } catch (error) {
        const why = controller.signal.aborted ? `no response within ${timeoutMs} ms` : describe(error);
        throw linkDown(`POST ${this.options.url} failed: ${why}`, error);
      }
      const replies = bytes.length > 0 ? decodeFrames(bytes, INBOUND_LIMITS) : [];
      const first = replies[0];
      if (first?.op === Op.ERROR) {
        const error = decodeBody(Op.ERROR, first.body);
        // 429: every request of the body was refused for rate; the link is fine, the body is resent later.
        if (status === 429 && error.code === ErrorCode.RateLimited) throw new ServerError({ ...error, fatal: false });
        // The server refused the AUTH: the whole request failed, and so has the link.
        throw new ServerError({ ...error, fatal: true });
      }
      if (first?.op !== Op.AUTH_OK) {
        if (status >= 200 && status < 300) {
          throw new ProtocolError(ErrorCode.BadFrame, 'the response does not start with AUTH_OK');
        }
        throw linkDown(`POST ${this.options.url} answered HTTP ${status}`);
      }
      return replies;
    } finally {
      clearTimeout(timer);
      this.controllers.delete(controller);
    }
  }

  private enqueue(frames: Uint8Array[]): void {
    this.backlog.push(...frames);
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.posting) return;
    this.posting = true;
    try {
      while (this.backlog.length > 0 && !this.down) {
        const [chunk] = chunkFrames(this.backlog, this.auth.maxFrame - this.authBytes, MAX_FRAMES_OUT - 1) as [
          Uint8Array[],
        ];
        let replies: Frame[];
        try {
          replies = await this.post(chunk, this.options.requestTimeoutMs + this.options.connectTimeoutMs);
        } catch (error) {
          if (!(error instanceof ServerError) || error.fatal) throw error;
          this.options.onError?.(error);
          await this.pause(Math.max(error.retryMs ?? 0, POLL_FLOOR_MS));
          continue;
        }
        // Only now: a refused body stays at the head of the backlog and goes again, in order.
        this.backlog.splice(0, chunk.length);
        for (const f of replies.slice(1)) this.dispatch(f);
      }
    } catch (error) {
      this.close(error as Error);
    } finally {
      this.posting = false;
    }
  }

  private dispatch(f: Frame): void {
    this.pending.receive(f, (error) => this.close(error), this.options);
  }

  private async pollLoop(): Promise<void> {
    let { epoch, seq } = this.auth;
    const waitMs = Math.min(this.options.pollWaitMs ?? POLL_WAIT_MS, Limits.maxPollMs);
    while (!this.down) {
      const startedAt = Date.now();
      let notify: Notify;
      try {
        notify = await this.poll(epoch, seq, waitMs);
      } catch (error) {
        if (this.down) return;
        if (error instanceof ServerError && !error.fatal) {
          this.options.onError?.(error);
          await this.pause(Math.max(error.retryMs ?? 0, POLL_FLOOR_MS));
          continue;
        }
        this.close(error as Error);
        return;
      }
      if (notify.epoch !== epoch || notify.seq > seq) {
        ({ epoch, seq } = notify);
        this.options.onNotify(notify);
        continue;
      }
      // No news, but the reply still names the newest seq: a client behind it lost earlier news (a failed sync).
      this.options.onHead?.(notify);
      if (Date.now() - startedAt < POLL_FLOOR_MS) await this.pause(POLL_FLOOR_MS);
    }
  }

  private async poll(epoch: number, seq: number, waitMs: number): Promise<Notify> {
    const timeoutMs = waitMs + this.options.requestTimeoutMs;
    const request = this.pending.open(Op.POLL, timeoutMs);
    const outcome = request.reply.then(
      (notify) => ({ notify }),
      (error: Error) => ({ error }),
    );
    try {
      const replies = await this.post([frame(Op.POLL, request.seq, { epoch, seq, waitMs })], timeoutMs);
      for (const f of replies.slice(1)) this.dispatch(f);
    } catch (error) {
      this.pending.reject(request.seq, error as Error);
    }
    const result = await outcome;
    if ('notify' in result) return result.notify;
    throw isLinkFailure(result.error) && this.down ? this.down : result.error;
  }

  private pause(ms: number): Promise<void> {
    const { signal } = this.stop;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done);
    });
  }
}
