import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeFrames, encodeBatch, encodeFrame, type Frame } from '@synkey/protocol';
import { mintToken, type RunningServer, type ServerOptions, startServer } from '@synkey/server';
import { WebSocket } from 'ws';
import { createEngine } from '../src/create-engine';
import type { Engine, EngineOptions } from '../src/engine';
import type { ChatMessage } from '../src/state';
import type { WebSocketConstructor, WebSocketLike } from '../src/ws-transport';

/** The token secret of every test server. */
export const SECRET = 'sdk-integration-tests-secret-0123456789';

const servers = new Set<RunningServer>();
const engines = new Set<Engine>();
const dirs: string[] = [];

/** Starts a server on a free port (or `port`) with an in-memory DB unless `dbPath` is given. */
export async function freshServer(options: Partial<ServerOptions> = {}): Promise<RunningServer> {
  const server = await startServer({
    port: 0,
    secret: SECRET,
    rateLimit: { perSecond: 100_000, burst: 100_000 },
    log: () => {},
    ...options,
  });
  servers.add(server);
  return server;
}

/** Closes a server started by {@link freshServer}. */
export async function stopServer(server: RunningServer): Promise<void> {
  servers.delete(server);
  await server.close();
}

/** An engine for `user` over the WebSocket, reconnecting quickly, unpaced (test servers have no rate limit). */
export function engineFor(url: string, user: string, options: Partial<EngineOptions> = {}): Engine {
  const engine = createEngine({
    server: url,
    getToken: () => mintToken(SECRET, user),
    WebSocket,
    transport: 'ws',
    rateLimit: false,
    reconnectPolicy: { minMs: 50, maxMs: 400 },
    ...options,
  });
  engines.add(engine);
  return engine;
}

/** A temporary directory removed by {@link cleanup}. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'synkey-sdk-'));
  dirs.push(dir);
  return dir;
}

/** Closes every engine and server the tests started. */
export async function cleanup(): Promise<void> {
  await Promise.all([...engines].map((e) => e.close()));
  engines.clear();
  await Promise.all([...servers].map((s) => s.close().catch(() => undefined)));
  servers.clear();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** The fields every client must agree on. */
export function view(messages: readonly ChatMessage[]) {
  return messages.map(({ id, conv, sender, convSeq, ts, text }) => ({ id, conv, sender, convSeq, ts, text }));
}

/** Hooks on a WebSocket's traffic, frame by frame. */
export interface Tap {
  /** Frames from the server; return true to drop one before the engine sees it. */
  inbound?(f: Frame): boolean | undefined;
  /** Frames the engine sends. */
  outbound?(f: Frame): void;
}

const LIMITS = { maxFrame: 1 << 26, maxFrames: 1 << 16 };

/** `ws`'s WebSocket with a tap on the frames in both directions. */
export function tappedWebSocket(tap: Tap): WebSocketConstructor {
  return class TappedWebSocket implements WebSocketLike {
    private readonly ws: WebSocket;

    constructor(url: string) {
      this.ws = new WebSocket(url);
      this.ws.binaryType = 'arraybuffer';
    }

    get binaryType(): string {
      return this.ws.binaryType;
    }

    set binaryType(_value: string) {}

    get readyState(): number {
      return this.ws.readyState;
    }

    send(data: Uint8Array<ArrayBuffer>): void {
      for (const f of decodeFrames(data, LIMITS)) tap.outbound?.(f);
      this.ws.send(data);
    }

    close(code?: number, reason?: string): void {
      this.ws.close(code, reason);
    }

    addEventListener(type: string, listener: (event: never) => void): void {
      const call = listener as (event: unknown) => void;
      if (type === 'message') {
        this.ws.on('message', (data: ArrayBuffer) => {
          const kept = decodeFrames(new Uint8Array(data), LIMITS).filter((f) => !tap.inbound?.(f));
          if (kept.length === 0) return;
          const bytes = encodeBatch(kept.map((f) => encodeFrame(f.op, f.seq, f.body)));
          call({ data: bytes.slice().buffer });
        });
      } else if (type === 'close') {
        this.ws.on('close', (code: number, reason: Buffer) => call({ code, reason: reason.toString() }));
      } else if (type === 'open' || type === 'error') {
        this.ws.on(type, () => call(undefined));
      }
    }
  };
}
