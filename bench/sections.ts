// The benchmark sections `npm run bench` runs, with their full and --quick parameters.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measureCatchup } from './catchup';
import { measureEmbedLoad, type NamedLink } from './embed-load';
import { measureMemory } from './memory';
import { measureServer } from './server-load';
import { measureSizes } from './sizes';
import { measureUpload } from './upload';
import { measureWire } from './wire';

const ROOT = join(import.meta.dirname, '..');
const KiB = 1024;

/** A section: what it prints first, and how it measures. */
export interface Section {
  title: string;
  run(quick: boolean, log: (s: string) => void): Promise<unknown>;
}

/** Builds the script-tag embed into a temp directory (not the shared dist/) and measures it. */
async function sizes(log: (s: string) => void) {
  const out = mkdtempSync(join(tmpdir(), 'synkey-bench-embed-'));
  try {
    log('  building the embed…');
    for (const build of ['embed', 'loader']) {
      execFileSync(
        'npx',
        ['vite', 'build', '-c', 'packages/widget/vite.config.ts', '--outDir', out, '--logLevel', 'warn'],
        { cwd: ROOT, stdio: 'inherit', env: { ...process.env, SYNKEY_BUILD: build } },
      );
    }
    return measureSizes(out);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/**
 * The lines the embed is loaded over: Lighthouse's mobile preset ("Slow 4G", the throttling
 * PageSpeed Insights applies: 150 ms, 1.6 Mbit/s down, 750 kbit/s up) and a fast home line.
 */
const EMBED_LINKS: Record<string, NamedLink> = {
  slow4g: { label: 'Slow 4G', rttMs: 150, downMbit: 1.6, upMbit: 0.75, handshake: true },
  fast: { label: 'Fast line', rttMs: 20, downMbit: 50, upMbit: 10, handshake: true },
};

/** Every section, in the order a full run takes them (cheap first). */
export const SECTIONS = {
  wire: { title: 'wire: 1,000 messages by sync vs JSON', run: () => measureWire(1000) },
  sizes: { title: 'sizes: the script-tag embed', run: (_q, log) => sizes(log) },
  server: {
    title: 'server: throughput and latency, Synkey vs a plain ws relay',
    run: (quick, log) =>
      measureServer(
        quick
          ? { clients: 200, throughputMs: 3000, window: 2, rate: 200, latencyMs: 4000, warmupMs: 1000 }
          : { clients: 1000, throughputMs: 10_000, window: 2, rate: 500, latencyMs: 15_000, warmupMs: 2000 },
        log,
      ),
  },
  memory: {
    title: 'memory: idle long links, Synkey vs the relay',
    run: (quick, log) => (quick ? measureMemory(2000, 1000, log) : measureMemory(10_000, 5000, log)),
  },
  catchup: {
    title: 'catch-up and reconnect in Chromium',
    run: (quick, log) =>
      measureCatchup(quick ? { messages: 1000, reconnects: 2 } : { messages: 10_000, reconnects: 5 }, log),
  },
  upload: {
    title: 'upload: a 10 MB image in chunks vs one POST',
    run: (quick, log) =>
      measureUpload(
        quick
          ? {
              bytes: 2 * 2 ** 20,
              chunkSizes: [256 * KiB, 1024 * KiB],
              concurrencies: [1, 4],
              repeats: 1,
              link: { rttMs: 40, upMbit: 100 },
              linkRepeats: 1,
            }
          : {
              bytes: 10 * 2 ** 20,
              chunkSizes: [256 * KiB, 512 * KiB, 1024 * KiB],
              concurrencies: [1, 2, 4, 6],
              repeats: 3,
              link: { rttMs: 40, upMbit: 100 },
              linkRepeats: 2,
            },
        log,
      ),
  },
  embedLoad: {
    title: 'embed load: script tag → launcher shown → connected, through an emulated link',
    run: (quick, log) => measureEmbedLoad({ trials: quick ? 2 : 7, links: EMBED_LINKS }, log),
  },
} satisfies Record<string, Section>;

/** A section's name. */
export type SectionName = keyof typeof SECTIONS;

/** What each section returns, as results.json keeps it. */
export type SectionResults = { [K in SectionName]: Awaited<ReturnType<(typeof SECTIONS)[K]['run']>> };
