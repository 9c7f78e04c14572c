// Runs the media fuzzer against a real server in a child process (fuzz-server.ts), over loopback
// sockets: workers send random and mutated upload-API requests and VOICE_PART/SEND frames, each judged
// by the model and oracle, while two SDK engines send images, voice notes and text through the same
// server. At the end: the server's heap after GC, its links, its logs, the database's integrity, the
// media directory against the database, and a restart that must find nothing to clean and still serve
// the files. Used by fuzz-media.test.ts (short) and scripts/fuzz-media.ts (long).
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { mintToken } from '../src/auth';
import { Rng } from './fuzz-corpus';
import { checkMediaDir, type DiskReport } from './fuzz-media-disk';
import { MediaChat, type WellBehavedReport } from './fuzz-media-engines';
import { RawHttp } from './fuzz-media-http';
import { basePool, bombs, nonImages } from './fuzz-media-images';
import { World } from './fuzz-media-model';
import { SCENARIOS } from './fuzz-media-scenarios';
import { DEADLINE_MS, type MediaStats, MediaWorker } from './fuzz-media-worker';
import { counts, endHeap, mib, SECRET, ServerProcess } from './fuzz-run';

/** What to run. */
export interface MediaFuzzOptions {
  seed: number;
  /**
   * Random, damaged or hostile inputs to send (HTTP requests, hung-up ones included; voice parts; SENDs;
   * mutated link messages). The valid steps around them and the fuzzer's checks come on top.
   */
  mutated: number;
  /** Workers (fuzz users) sending at the same time. */
  workers: number;
  /** Heap growth allowed between the baseline sample and the end, in bytes. */
  heapBound: number;
  /** How long a well-behaved image, voice note or text may take to get through. */
  wellBehavedDeadlineMs: number;
  progress?: (line: string) => void;
}

/** What a run did and found. */
export interface MediaFuzzReport {
  seed: number;
  durationMs: number;
  stats: MediaStats;
  wellBehaved: WellBehavedReport;
  heap: {
    gc: boolean;
    baseline: number;
    end: number;
    peak: number;
    rssBaseline: number;
    rssEnd: number;
    samples: number;
  };
  connectionsAtEnd: { authenticated: number; all: number } | null;
  disk: DiskReport | null;
  restart: { identical: boolean; served: number; checked: number } | null;
  violations: string[];
}

const MAX_VIOLATIONS = 60;
/** Inputs a worker sends as one fuzz user before it moves on to a new one (bounds quotas and state). */
const ROTATE = 300;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function within<T, F>(p: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<F>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

function emptyStats(): MediaStats {
  return {
    inputs: 0,
    mutated: 0,
    checks: 0,
    byKind: {},
    statuses: {},
    codes: {},
    completes: {},
    served: {},
    hungUp: 0,
    races: 0,
    identities: 0,
    stored: { images: 0, voice: 0, deduped: 0 },
    voice: { parts: 0, frames: 0, acks: 0, refusals: {}, fatal: {} },
    sends: {},
    tolerated: {},
  };
}

/** Runs the media fuzzer once; never throws for what it finds (see `violations`). */
export async function runMediaFuzz(opts: MediaFuzzOptions): Promise<MediaFuzzReport> {
  const started = Date.now();
  const say = opts.progress ?? (() => {});
  const violations: string[] = [];
  let dropped = 0;
  const violation = (v: string) => {
    if (violations.length < MAX_VIOLATIONS) violations.push(v);
    else dropped++;
  };
  const stats = emptyStats();
  const report: MediaFuzzReport = {
    seed: opts.seed,
    durationMs: 0,
    stats,
    wellBehaved: { images: 0, voice: 0, texts: 0, acked: 0, received: 0, fetched: 0, linkDrops: 0 },
    heap: { gc: false, baseline: 0, end: 0, peak: 0, rssBaseline: 0, rssEnd: 0, samples: 0 },
    connectionsAtEnd: null,
    disk: null,
    restart: null,
    violations,
  };
  const dir = mkdtempSync(join(tmpdir(), 'synkey-media-fuzz-'));
  const dbPath = join(dir, 'fuzz.db');
  const mediaDir = join(dir, 'media');
  const serverOptions = { media: { rateLimit: { perSecond: 1_000_000, burst: 1_000_000 } } };
  let server = new ServerProcess(dbPath, serverOptions);
  let crashed = false;
  let stopped = false;
  server.exited.then((why) => {
    if (why) {
      crashed = true;
      stopped = true;
      violations.unshift(why);
    }
  });
  const master = new Rng(opts.seed);
  const world = new World();
  let chat: MediaChat | null = null;
  let http: RawHttp | null = null;
  let workers: MediaWorker[] = [];
  try {
    const [base] = await Promise.all([
      basePool(opts.seed),
      Promise.race([server.ready, server.exited.then((w) => Promise.reject(new Error(w || 'server exited')))]),
    ]);
    const images = { base, bombs: await bombs(base), nonImages: nonImages(opts.seed) };
    say(`server ${server.url}, seed ${opts.seed}, ${base.length} images, ${images.bombs.length} bombs`);
    http = new RawHttp(new URL(server.url));

    chat = new MediaChat(
      server.url,
      SECRET,
      ['wb-ann', 'wb-ben'],
      master.fork(),
      opts.wellBehavedDeadlineMs,
      violation,
      (owner, media, digest) => {
        world.addForeign(owner, media.id);
        if (digest && !world.stored.has(digest)) world.stored.set(digest, media);
      },
    );
    await chat.start();
    const first = await server.stats();
    if (first) report.heap.gc = first.gc;

    const more = () => !stopped && stats.mutated < opts.mutated;
    const deps = { url: server.url, wsUrl: server.wsUrl, secret: SECRET, http, world, images, stats, violation, more };
    workers = Array.from({ length: opts.workers }, (_, i) => new MediaWorker(i, master.fork(), deps));

    let baselineTaken = false;
    const heapLoop = (async () => {
      while (!stopped) {
        await within(sleep(2000), 2000, undefined);
        if (stopped) break;
        const s = await server.stats();
        if (!s) {
          if (!stopped) violation(`the server did not report its heap within ${DEADLINE_MS * 3} ms`);
          continue;
        }
        report.heap.samples++;
        report.heap.peak = Math.max(report.heap.peak, s.heapUsed);
        if (!baselineTaken && stats.mutated >= opts.mutated * 0.1) {
          baselineTaken = true;
          report.heap.baseline = s.heapUsed;
          report.heap.rssBaseline = s.rss;
        }
      }
    })();
    const progressLoop = (async () => {
      while (!stopped) {
        for (let t = 0; t < 50 && !stopped; t++) await sleep(100);
        if (!stopped)
          say(
            `${stats.mutated}/${opts.mutated} mutated inputs (${stats.inputs} in all, ${stats.checks} checks); ${stats.stored.images} images and ${stats.stored.voice} voice notes stored; well-behaved ${chat?.report().acked ?? 0} acked; violations ${violations.length + dropped}`,
          );
      }
    })();

    await Promise.all(
      workers.map(async (w) => {
        while (more()) {
          try {
            if (w.age >= ROTATE) await w.newIdentity();
            const scenario = w.rng.weighted(SCENARIOS);
            await scenario(w);
          } catch (e) {
            if (!stopped) w.fail(`worker ${w.index}: ${(e as Error).stack ?? e}`);
            await sleep(50);
          }
        }
        w.close();
      }),
    );

    if (!crashed) {
      // Only the engines' two links may be left.
      const { stats: s, all } = await server.settledLinks(2);
      report.connectionsAtEnd = { authenticated: s?.connections ?? -1, all };
      if (s?.connections !== 2 || all !== 2)
        violation(
          `links leak: ${s?.connections} authenticated and ${all} open links at the end, expected the engines' 2`,
        );
      if (s) endHeap(report.heap, s, baselineTaken ? undefined : first, opts.heapBound, violation);
    }
    stopped = true;
    await Promise.all([heapLoop, progressLoop]);

    if (!crashed) {
      await chat.stop();
      report.wellBehaved = chat.report();
      await chat.close();
      chat = null;
      for (const l of server.logs) violation(`server logged: ${l}`);
      await server.close();

      const db = new Database(dbPath, { readonly: true });
      const integrity = db.pragma('integrity_check', { simple: true });
      const fk = db.pragma('foreign_key_check') as unknown[];
      db.close();
      if (integrity !== 'ok') violation(`database integrity_check: ${String(integrity)}`);
      if (fk.length > 0) violation(`database foreign_key_check: ${fk.length} rows`);

      const disk = checkMediaDir(mediaDir, dbPath);
      report.disk = disk;
      for (const p of disk.problems.slice(0, 20)) violation(`media directory: ${p}`);
      if (disk.problems.length > 20) violation(`media directory: … and ${disk.problems.length - 20} more problems`);

      // A restart cleans what a crash would leave: with nothing left behind, it must delete nothing.
      server = new ServerProcess(dbPath, serverOptions);
      server.exited.then((why) => why && violation(`restarted ${why}`));
      await server.ready;
      const again = checkMediaDir(mediaDir, dbPath);
      const identical = JSON.stringify(again.listing) === JSON.stringify(disk.listing);
      if (!identical) violation('the restarted server changed the media directory (it found files to clean up)');
      const samples = world.samples.slice(0, 40);
      let served = 0;
      for (const m of samples) {
        const res = await fetch(`${server.url}/media/${m.id}`, {
          headers: { authorization: `Bearer ${await mintToken(SECRET, m.owner)}` },
        }).catch(() => null);
        const body = res ? Buffer.from(await res.arrayBuffer()) : null;
        if (res?.status === 200 && body && createHash('sha256').update(body).digest('hex') === m.sha256) served++;
        else violation(`after the restart, media ${m.id} of ${m.owner} answered ${res?.status ?? 'nothing'}`);
      }
      report.restart = { identical, served, checked: samples.length };
    }
  } catch (e) {
    violation(`media fuzz run aborted: ${(e as Error).stack ?? e}`);
  } finally {
    stopped = true;
    for (const w of workers) w.close();
    http?.close();
    await chat?.close().catch(() => {});
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  if (dropped > 0) violations.push(`… and ${dropped} more violations`);
  report.durationMs = Date.now() - started;
  return report;
}

/** The report as printable lines. */
export function formatMediaReport(r: MediaFuzzReport): string {
  const s = r.stats;
  const wb = r.wellBehaved;
  const lines = [
    `seed ${r.seed}, ${(r.durationMs / 1000).toFixed(1)} s, ${s.identities} fuzz users`,
    `inputs: ${s.inputs}, ${s.mutated} of them random, damaged or hostile; plus ${s.checks} checks (${counts(s.byKind)})`,
    `  HTTP statuses: ${counts(s.statuses)}`,
    `  error codes: ${counts(s.codes)}`,
    `  completes of whole uploads (class → outcome): ${counts(s.completes)}`,
    `  served files (Range/conditional probes): ${counts(s.served)}; ${s.hungUp} requests hung up mid-body; ${s.races} races`,
    `  stored: ${s.stored.images} images, ${s.stored.voice} voice notes, ${s.stored.deduped} dedupe answers`,
    `voice: ${s.voice.parts} clean parts, ${s.voice.frames} mutated frames; ${s.voice.acks} PART_ACKs; refusals: ${counts(s.voice.refusals)}; fatal: ${counts(s.voice.fatal)}`,
    `SEND naming media: ${counts(s.sends)}`,
    `server heap (after GC${r.heap.gc ? '' : ' — NOT AVAILABLE'}): baseline ${mib(r.heap.baseline)}, end ${mib(r.heap.end)}, peak ${mib(r.heap.peak)} over ${r.heap.samples} samples; RSS ${mib(r.heap.rssBaseline)} → ${mib(r.heap.rssEnd)}`,
    `well-behaved engines: ${wb.images} images, ${wb.voice} voice notes, ${wb.texts} texts; acked ${wb.acked}, received ${wb.received}, media fetched ${wb.fetched}; link drops ${wb.linkDrops}`,
    r.connectionsAtEnd
      ? `links at the end: ${r.connectionsAtEnd.authenticated} authenticated, ${r.connectionsAtEnd.all} open (expected 2)`
      : 'links at the end: not checked',
    r.disk
      ? `media directory: ${r.disk.files} files, ${r.disk.thumbs} thumbnails, ${r.disk.openUploads} open uploads with ${r.disk.chunkFiles} chunk files, ${r.disk.tmp} temp files; ${r.disk.problems.length} problems`
      : 'media directory: not checked',
    r.restart
      ? `restart: directory unchanged ${r.restart.identical}; ${r.restart.served}/${r.restart.checked} media served with the same bytes`
      : 'restart: not checked',
    `tolerated: ${counts(s.tolerated)}`,
    r.violations.length === 0 ? 'violations: none' : `VIOLATIONS (${r.violations.length}):`,
    ...r.violations.map((v) => `  - ${v}`),
  ];
  return lines.join('\n');
}
