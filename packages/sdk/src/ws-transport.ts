import {
  type BodyOf,
  CloseCode,
  decodeBody,
  decodeFrames,
  ErrorCode,
  encodeBatch,
  type Frame,
  frame,
  HEADER_LEN,
  Op,
  ProtocolError,
} from '@synkey/protocol';
import { linkDown, ServerError } from './errors';
import { chunkFrames, FrameQueue } from './frame-queue';
import { PendingRequests } from './pending';
import {
  type AuthOk,
  type CallOp,
  INBOUND_LIMITS,
  type LinkOptions,
  MAX_FRAMES_OUT,
  type ReplyOf,
  type Transport,
} from './transport';

/** The part of the WebSocket API the transport uses; the browser's and `ws`'s both fit. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array<ArrayBuffer>): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'error', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { readonly data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { readonly code: number; readonly reason: string }) => void): void;
}

/** A WebSocket constructor: the global one, or `ws`'s in Node. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** Options of {@link connectWebSocket}. */
export interface WsLinkOptions extends LinkOptions {
  /** The `ws://` or `wss://` URL of the server's `/ws` endpoint. */
  url: string;
  WebSocket: WebSocketConstructor;
}

/** The link is declared dead after this many heartbeat intervals without a byte from the server. */
export const SILENCE_FACTOR = 1.4;

const OPEN = 1;

/** Close codes the server uses, as the error they stand for when no ERROR frame came first. */
const CLOSE_ERRORS: Record<number, ErrorCode> = {
  [CloseCode.Unauthenticated]: ErrorCode.Unauthenticated,
  [CloseCode.TokenExpired]: ErrorCode.TokenExpired,
  [CloseCode.HeartbeatTimeout]: ErrorCode.Timeout,
  [CloseCode.TlsRequired]: ErrorCode.TlsRequired,
  [CloseCode.RateLimited]: ErrorCode.RateLimited,
  [CloseCode.TooLarge]: ErrorCode.FrameTooLarge,
  [CloseCode.Protocol]: ErrorCode.BadFrame,
};

/**
 * Opens a WebSocket long link: connects, sends AUTH and resolves once AUTH_OK arrives. Rejects with
 * the server's ERROR (e.g. TOKEN_EXPIRED), or UNAVAILABLE/TIMEOUT when the socket cannot connect.
 */
export function connectWebSocket(options: WsLinkOptions): Promise<Transport> {
  return new WsLink(options).ready;
}

class WsLink implements Transport {
  readonly kind = 'ws';
  auth!: AuthOk;
  readonly closed: Promise<Error>;
  readonly ready: Promise<Transport>;
  private resolveClosed!: (reason: Error) => void;
  private readonly socket: WebSocketLike | undefined;
  private readonly pending = new PendingRequests();
  private readonly queue = new FrameQueue((frames) => this.write(frames));
  private down: Error | undefined;
  private watchdog: ReturnType<typeof setTimeout> | undefined;
  private maxFrame = 0;

  constructor(private readonly options: WsLinkOptions) {
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    const { seq, reply } = this.pending.open(Op.AUTH, options.connectTimeoutMs);
    this.ready = reply.then(
      (ok) => {
        this.auth = ok;
        this.maxFrame = ok.maxFrame;
        this.heard();
        return this;
      },
      (error: Error) => {
        this.fail(error);
        throw this.down;
      },
    );
    try {
      this.socket = new options.WebSocket(options.url);
    } catch (error) {
      this.fail(linkDown(`cannot open a WebSocket to ${options.url}`, error));
      return;
    }
    this.socket.binaryType = 'arraybuffer';
    this.socket.addEventListener('open', () => this.send([frame(Op.AUTH, seq, options.auth)]));
    this.socket.addEventListener('message', (event) => this.receive(event.data));
    this.socket.addEventListener('close', (event) => this.fail(closeError(event.code, event.reason)));
    // The close event that follows an error carries the reason.
    this.socket.addEventListener('error', () => {});
  }

  request<O extends CallOp>(op: O, body: BodyOf<O>, timeoutMs: number): Promise<ReplyOf<O>> {
    if (this.down) return Promise.reject(linkDown('the link is down', this.down));
    return this.pending.send(op, body, timeoutMs, (f) => this.queue.push(f));
  }

  close(reason: Error = linkDown('closed by the client')): void {
    this.fail(reason);
  }

  private receive(data: unknown): void {
    if (this.down) return;
    this.heard();
    try {
      const bytes = toBytes(data);
      for (const f of decodeFrames(bytes, INBOUND_LIMITS)) this.dispatch(f);
    } catch (error) {
      this.fail(error as Error);
    }
  }

  private dispatch(f: Frame): void {
    switch (f.op) {
      case Op.PING: {
        this.queue.push(frame(Op.PONG, f.seq, {}));
        const { epoch, seq } = decodeBody(Op.PING, f.body);
        if (epoch !== undefined && seq !== undefined) this.options.onHead?.({ epoch, seq });
        return;
      }
      case Op.PONG:
        return;
      case Op.NOTIFY:
        if (f.seq === 0) {
          this.options.onNotify(decodeBody(Op.NOTIFY, f.body));
          return;
        }
        break;
    }
    this.pending.receive(f, (error) => this.fail(error), this.options);
  }

  private send(frames: Uint8Array[]): void {
    if (this.down) return;
    if (this.socket?.readyState !== OPEN) {
      this.fail(linkDown('the socket is not open'));
      return;
    }
    this.socket.send(encodeBatch(frames) as Uint8Array<ArrayBuffer>);
  }

  private write(frames: Uint8Array[]): void {
    for (const chunk of chunkFrames(frames, this.maxFrame - HEADER_LEN, MAX_FRAMES_OUT)) this.send(chunk);
  }

  private heard(): void {
    if (!this.auth) return;
    clearTimeout(this.watchdog);
    const silenceMs = Math.round(this.auth.heartbeatMs * SILENCE_FACTOR);
    this.watchdog = setTimeout(
      () => this.fail(new ProtocolError(ErrorCode.Timeout, `no word from the server for ${silenceMs} ms`)),
      silenceMs,
    );
  }

  private fail(reason: Error): void {
    if (this.down) return;
    this.down = reason;
    clearTimeout(this.watchdog);
    this.queue.clear();
    this.pending.rejectAll(linkDown(`link down: ${reason.message}`, reason));
    try {
      this.socket?.close(CloseCode.Normal);
    } catch {
      // Closing a socket that never connected can throw; it is gone either way.
    }
    this.resolveClosed(reason);
  }
}

function toBytes(data: unknown): Uint8Array {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new ProtocolError(ErrorCode.BadFrame, 'a text message on a binary link');
}

function closeError(code: number, reason: string): Error {
  const known = CLOSE_ERRORS[code];
  const message = reason || `the server closed the link (${code})`;
  return known ? new ServerError({ code: known, message, fatal: true }) : linkDown(message);
}
