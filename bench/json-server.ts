// The naive client's server for the catch-up baseline: messages as JSON pages over plain HTTP.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A started JSON server. */
export interface JsonServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves `GET /messages?after=SEQ&limit=N` → `{messages, more}` from `messages` (ascending `seq`),
 * with CORS open so the page of another origin can fetch it.
 */
export async function startJsonServer(messages: readonly { seq: number }[]): Promise<JsonServer> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    res.setHeader('access-control-allow-origin', '*');
    if (url.pathname !== '/messages') {
      res.writeHead(404).end();
      return;
    }
    const after = Number(url.searchParams.get('after') ?? 0);
    const limit = Math.min(500, Math.max(1, Number(url.searchParams.get('limit') ?? 200)));
    const from = messages.findIndex((m) => m.seq > after);
    const page = from < 0 ? [] : messages.slice(from, from + limit);
    const body = JSON.stringify({ messages: page, more: from >= 0 && from + limit < messages.length });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
