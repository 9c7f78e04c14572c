// The Synkey server as the benchmarks run it: the real startServer in a process of its own, with a
// file database, the per-user rate limits and media quotas lifted (the load generators send far above
// them on purpose) and memory/CPU reported over IPC. Args: --db PATH [--port N] [--dev]
// [--static DIR]... [--bench-upload] (mounts the upload baseline's single-POST endpoint).
// The token secret comes from SYNKEY_SECRET.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { startServer, staticFiles } from '@synkey/server';
import './ipc';
import { singleUploadRoute } from './single-upload';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    db: { type: 'string' },
    dev: { type: 'boolean', default: false },
    static: { type: 'string', multiple: true },
    'bench-upload': { type: 'boolean', default: false },
  },
});
if (!values.db) throw new Error('--db is required');

const routes = (values.static ?? []).map((dir) => staticFiles(dir));
if (values['bench-upload']) routes.push(singleUploadRoute(join(dirname(values.db), 'single-uploads')));
const unlimited = { perSecond: 1e9, burst: 1e9 };
let errors = 0;
const server = await startServer({
  port: Number(values.port),
  dbPath: values.db,
  dev: values.dev,
  rateLimit: unlimited,
  media: {
    rateLimit: unlimited,
    quota: { maxOpenUploads: 1e6, maxOpenBytes: 2 ** 50, maxBytesPerDay: 2 ** 50, maxOpenVoice: 1e6 },
  },
  log: (msg, err) => {
    if (++errors <= 5) console.error(`[synkey bench server] ${msg}`, err ?? '');
  },
  extraRoutes: async (req: IncomingMessage, res: ServerResponse) => {
    for (const r of routes) if (await r(req, res)) return true;
    return false;
  },
});
console.log(`listening on ${server.url}`);

process.on('SIGTERM', () => {
  server.close().then(() => process.exit(0));
});
