#!/usr/bin/env node
// Command line entry: `node --import tsx packages/server/src/main.ts [--dev] [--port N] [--host H] [--db PATH]
// [--static DIR]...` (each --static directory is served for GET requests no other route answers).
// Environment: PORT, HOST, SYNKEY_DB, SYNKEY_SECRET, SYNKEY_TLS_CERT / SYNKEY_TLS_KEY (PEM file paths),
// SYNKEY_TLS_PORT (serve TLS on its own port), SYNKEY_REQUIRE_TLS=1.
import { mkdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { startServer } from './server';
import { staticFiles } from './static-files';

const { values } = parseArgs({
  options: {
    dev: { type: 'boolean', default: false },
    port: { type: 'string' },
    host: { type: 'string' },
    db: { type: 'string' },
    'heartbeat-ms': { type: 'string' },
    static: { type: 'string', multiple: true },
  },
});

const env = process.env;

type Route = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
function firstMatch(routes: Route[]): Route {
  return async (req, res) => {
    for (const r of routes) if (await r(req, res)) return true;
    return false;
  };
}
const dbPath = values.db ?? env.SYNKEY_DB ?? 'data/synkey.db';
if (dbPath !== ':memory:') mkdirSync(dirname(dbPath), { recursive: true });
const cert = env.SYNKEY_TLS_CERT;
const key = env.SYNKEY_TLS_KEY;

const server = await startServer({
  dev: values.dev,
  port: Number(values.port ?? env.PORT ?? 8787),
  host: values.host ?? env.HOST ?? '127.0.0.1',
  dbPath,
  ...(values['heartbeat-ms'] ? { heartbeatMs: Number(values['heartbeat-ms']) } : {}),
  ...(cert && key
    ? {
        tls: {
          cert: readFileSync(cert),
          key: readFileSync(key),
          ...(env.SYNKEY_TLS_PORT ? { port: Number(env.SYNKEY_TLS_PORT) } : {}),
        },
      }
    : {}),
  requireTls: env.SYNKEY_REQUIRE_TLS === '1',
  ...(values.static?.length ? { extraRoutes: firstMatch(values.static.map((dir) => staticFiles(dir))) } : {}),
});

console.log(`listening on ${server.url}${values.dev ? ' (dev mode: GET /dev/token?user=NAME mints tokens)' : ''}`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    server.close().then(() => process.exit(0));
  });
}
