import type { AddressInfo } from 'node:net';
import {
  type BodyOf,
  concatFrames,
  decodeBody,
  decodeFrames,
  encodeBatch,
  type Frame,
  frame,
  Op,
} from '@synkey/protocol';
import { type WebSocket, WebSocketServer } from 'ws';
import type { FetchLike } from '../src/http-transport';

type AuthBody = BodyOf<typeof Op.AUTH>;
type ErrorBody = BodyOf<typeof Op.ERROR>;

/** How a fake peer answers an AUTH: accept, or refuse with an ERROR (and, on a WebSocket, a close code). */
export type AuthDecision = 'ok' | { error: ErrorBody; closeCode?: number };

/** The AUTH_OK a fake peer answers with: user `alice`, epoch 1. */
export function authOkBody(auth: AuthBody, heartbeatMs = 25_000): BodyOf<typeof Op.AUTH_OK> {
  return { user: 'alice', device: auth.device, epoch: 1, seq: 0, heartbeatMs, maxFrame: 256 * 1024, time: Date.now() };
}

/** One connection to a {@link FakeWsServer}. */
export class FakeSocket {
  /** Every frame received after AUTH, BATCHes flattened. */
  readonly frames: Frame[] = [];
  /** Number of WebSocket messages received. */
  messages = 0;
  auth: AuthBody | undefined;

  constructor(readonly raw: WebSocket) {}

  send(...frames: Uint8Array[]): void {
    this.raw.send(encodeBatch(frames));
  }

  close(code = 1000, reason = ''): void {
    this.raw.close(code, reason);
  }
}

export interface FakeWsServer {
  url: string;
  sockets: FakeSocket[];
  close(): Promise<void>;
}

/** A WebSocket peer that speaks just enough of the protocol: AUTH, and whatever `onFrame` adds. */
export async function fakeWsServer(
  options: {
    heartbeatMs?: number;
    auth?: (auth: AuthBody) => AuthDecision;
    onFrame?: (f: Frame, socket: FakeSocket) => void;
  } = {},
): Promise<FakeWsServer> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((resolve) => wss.once('listening', resolve));
  const sockets: FakeSocket[] = [];
  wss.on('connection', (ws) => {
    const socket = new FakeSocket(ws);
    sockets.push(socket);
    ws.on('message', (data: Buffer) => {
      socket.messages++;
      for (const f of decodeFrames(new Uint8Array(data))) {
        if (f.op === Op.AUTH) {
          const auth = decodeBody(Op.AUTH, f.body);
          socket.auth = auth;
          const decision = options.auth?.(auth) ?? 'ok';
          if (decision === 'ok') {
            socket.send(frame(Op.AUTH_OK, f.seq, authOkBody(auth, options.heartbeatMs)));
          } else {
            socket.send(frame(Op.ERROR, f.seq, decision.error));
            if (decision.closeCode) socket.close(decision.closeCode, decision.error.code);
          }
          continue;
        }
        socket.frames.push(f);
        options.onFrame?.(f, socket);
      }
    });
  });
  const { port } = wss.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/ws`,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
}

/** One POST seen by a {@link fakeFetch}. */
export interface Post {
  auth: AuthBody;
  frames: Frame[];
}

/**
 * A fetch for the short link: decodes each POST, checks it starts with AUTH and answers AUTH_OK (or
 * the refusal) followed by what `answer` returns for each other frame, in order.
 */
export function fakeFetch(
  options: {
    auth?: (auth: AuthBody) => AuthDecision;
    answer?: (f: Frame, post: Post) => Uint8Array | Promise<Uint8Array> | undefined;
  } = {},
): { fetch: FetchLike; posts: Post[] } {
  const posts: Post[] = [];
  const fetch: FetchLike = async (_url, init) => {
    if (init.signal.aborted) throw new Error('aborted');
    const [first, ...rest] = decodeFrames(init.body);
    if (first?.op !== Op.AUTH) throw new Error('the first frame is not AUTH');
    const post: Post = { auth: decodeBody(Op.AUTH, first.body), frames: rest };
    posts.push(post);
    const decision = options.auth?.(post.auth) ?? 'ok';
    const out: Uint8Array[] = [];
    if (decision === 'ok') out.push(frame(Op.AUTH_OK, first.seq, authOkBody(post.auth)));
    else out.push(frame(Op.ERROR, first.seq, decision.error));
    if (decision === 'ok') {
      for (const f of rest) {
        const reply = await options.answer?.(f, post);
        if (reply) out.push(reply);
      }
    }
    const body = concatFrames(out);
    return {
      ok: decision === 'ok',
      status: decision === 'ok' ? 200 : 401,
      arrayBuffer: async () => body.slice().buffer,
    };
  };
  return { fetch, posts };
}
