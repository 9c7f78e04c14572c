#!/usr/bin/env node
// Command line entry: `node --import tsx packages/server/src/main.ts [--dev] [--port N] [--host H] [--db PATH]
// [--static DIR]... [--site] [--site-port N]` (each --static directory is served for GET requests no other
// route answers; in dev mode, --site serves the static dir's embed.html as a third-party site on
// --site-port, default the main port + 1).
// Environment: PORT, HOST, SYNKEY_DB, SYNKEY_SECRET, SYNKEY_TLS_CERT / SYNKEY_TLS_KEY (PEM file paths),
// SYNKEY_TLS_PORT (serve TLS on its own port), SYNKEY_REQUIRE_TLS=1, SYNKEY_MEDIA_DIR (or --media-dir; default: a
// `media` directory beside the database file, a temp directory for ':memory:'), SYNKEY_MEDIA_RETENTION_HOURS
// (uploaded media never sent are deleted after this many hours; default 168), SYNKEY_FSYNC=1 (fsync every
// commit: acknowledged messages survive power loss too).
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { retentionFromEnv } from './media/options';
import { startServer } from './server';
import { type RunningSite, redirectToSite, startSite } from './site-server';
import { staticFiles } from './static-files';

const { values } = parseArgs({
  options: {
    dev: { type: 'boolean', default: false },
    port: { type: 'string' },
    host: { type: 'string' },
    db: { type: 'string' },
    'media-dir': { type: 'string' },
    'heartbeat-ms': { type: 'string' },
    static: { type: 'string', multiple: true },
    site: { type: 'boolean', default: false },
    'site-port': { type: 'string' },
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
const mediaDir = values['media-dir'] ?? env.SYNKEY_MEDIA_DIR;
const unsentRetentionMs = retentionFromEnv(env.SYNKEY_MEDIA_RETENTION_HOURS);
const cert = env.SYNKEY_TLS_CERT;
const key = env.SYNKEY_TLS_KEY;

const port = Number(values.port ?? env.PORT ?? 8787);
const wantSite = values.dev && (values.site || values['site-port'] !== undefined);
const siteRoot = wantSite ? values.static?.find((dir) => existsSync(join(dir, 'embed.html'))) : undefined;
let site: RunningSite | undefined;
const statics = (values.static ?? []).map((dir) => staticFiles(dir));
if (siteRoot) statics.unshift(redirectToSite(() => site?.port));

const server = await startServer({
  dev: values.dev,
  port,
  host: values.host ?? env.HOST ?? '127.0.0.1',
  dbPath,
  fsync: env.SYNKEY_FSYNC === '1',
  ...(mediaDir ? { mediaDir } : {}),
  ...(unsentRetentionMs ? { media: { unsentRetentionMs } } : {}),
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
  ...(statics.length ? { extraRoutes: firstMatch(statics) } : {}),
});

console.log(`listening on ${server.url}${values.dev ? ' (dev mode: GET /dev/token?user=NAME mints tokens)' : ''}`);
if (siteRoot) {
  const sitePort = values['site-port'] !== undefined ? Number(values['site-port']) : port === 0 ? 0 : port + 1;
  const host = values.host ?? env.HOST ?? '127.0.0.1';
  const secure = server.url.startsWith('https');
  site = await startSite({
    port: sitePort,
    host,
    root: siteRoot,
    chatUrl: server.url,
    chatPort: server.port,
    chatSecure: secure,
  });
  console.log(`site on ${site.url}/embed.html (a third-party page that embeds the chat from another origin)`);
}

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    server.close().then(() => process.exit(0));
  });
}
