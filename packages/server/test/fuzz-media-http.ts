// A raw HTTP client for the media fuzzer (node:http): any method, any request-target, any headers, and
// bodies sent with a true, false or no Content-Length, chunked, or cut off by the client hanging up.
import { Agent, request } from 'node:http';
import type { HttpReply } from './fuzz-media-oracle';

/** One request as the fuzzer sends it. */
export interface RawRequest {
  method: string;
  /** The request-target, sent as it is (no normalisation). */
  path: string;
  headers: Record<string, string>;
  body?: Uint8Array;
  /**
   * How the body is framed: `length` (Content-Length of the body, the default), `chunked`, or `declare`
   * a Content-Length that may lie (only with `abortAfter`, else the server waits for the rest).
   */
  framing?: 'length' | 'chunked' | { declare: number };
  /** Sends this many body bytes, then hangs up (a closed tab, a dropped network). */
  abortAfter?: number;
}

/** What came back: a response, nothing because the client hung up, a reset, or nothing within the deadline. */
export type RawResult =
  | ({ kind: 'response' } & HttpReply)
  | { kind: 'hung-up'; response?: HttpReply }
  | { kind: 'reset'; message: string }
  | { kind: 'timeout' };

const MAX_BODY = 64 << 20;

/** A client of one server with a small pool of keep-alive connections; hostile framing gets a fresh one. */
export class RawHttp {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 4 });

  constructor(private readonly base: URL) {}

  send(req: RawRequest, timeoutMs: number): Promise<RawResult> {
    const body = req.body ?? new Uint8Array(0);
    const framing = req.framing ?? 'length';
    const headers: Record<string, string> = { ...req.headers };
    if (framing === 'length' && (req.body !== undefined || req.method === 'POST' || req.method === 'PUT'))
      headers['content-length'] = String(body.length);
    else if (typeof framing === 'object') headers['content-length'] = String(framing.declare);
    const fresh = req.abortAfter !== undefined || typeof framing === 'object';
    return new Promise<RawResult>((resolve) => {
      let done = false;
      let response: HttpReply | undefined;
      const finish = (r: RawResult) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(r);
      };
      const timer = setTimeout(() => {
        finish({ kind: 'timeout' });
        cr.destroy();
      }, timeoutMs);
      const cr = request(
        {
          host: this.base.hostname,
          port: this.base.port,
          method: req.method,
          path: req.path,
          headers,
          agent: fresh ? false : this.agent,
          setHost: true,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size <= MAX_BODY) chunks.push(c);
          });
          res.on('end', () => {
            response = { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) };
            if (req.abortAfter !== undefined) finish({ kind: 'hung-up', response });
            else finish({ kind: 'response', ...response });
          });
          res.on('error', (e) => finish({ kind: 'reset', message: e.message }));
        },
      );
      cr.on('error', (e: NodeJS.ErrnoException) => {
        if (req.abortAfter !== undefined) finish({ kind: 'hung-up', ...(response ? { response } : {}) });
        else finish({ kind: 'reset', message: `${e.code ?? ''} ${e.message}`.trim() });
      });
      if (req.abortAfter !== undefined) {
        const part = body.subarray(0, req.abortAfter);
        cr.flushHeaders();
        cr.write(part.length > 0 ? part : '', () => {
          // Let the bytes reach the server, then hang up mid-request.
          setTimeout(() => {
            cr.destroy();
            setTimeout(() => finish({ kind: 'hung-up', ...(response ? { response } : {}) }), 5);
          }, 2);
        });
        return;
      }
      if (framing === 'chunked' && body.length > 0) {
        const cut = Math.max(1, Math.floor(body.length / 3));
        cr.write(body.subarray(0, cut));
        cr.write(body.subarray(cut));
        cr.end();
      } else cr.end(body.length > 0 ? body : undefined);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
