import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { filesAtLoad, keyOf, readManifest, staticClosure } from '../packages/widget/build/manifest';

const gz = (s: string | Buffer) => gzipSync(s, { level: 9 }).length;

/** Bytes and gzip bytes of a set of files, each gzipped alone (as each is sent). */
export interface Weight {
  files: number;
  raw: number;
  gzip: number;
}

/**
 * Sizes of the script-tag embed built into `dir` (synkey.js, the ES chunks and manifest.json): what
 * a page loads before anyone opens the chat, what each later step adds, and the whole. Files shared
 * by the page and the worker count once (the HTTP cache serves the second). Baseline: all of the
 * embed's code as one gzip stream, what a single-file build of the same code would weigh.
 */
export function measureSizes(dir: string) {
  const manifest = readManifest(dir);
  const code = (file: string) => readFileSync(join(dir, file));
  const weigh = (files: Iterable<string>): Weight => {
    const list = [...files];
    return {
      files: list.length,
      raw: list.reduce((n, f) => n + code(f).length, 0),
      gzip: list.reduce((n, f) => n + gz(code(f)), 0),
    };
  };
  const minus = (a: Set<string>, b: Set<string>) => new Set([...a].filter((f) => !b.has(f)));
  const closure = (suffix: string) => staticClosure(manifest, keyOf(manifest, suffix));

  const loaded = filesAtLoad(manifest);
  const page = new Set(['synkey.js', ...loaded.page]);
  const worker = loaded.worker;
  const atLoad = new Set([...page, ...worker]);
  const all = new Set(['synkey.js', ...walk(dir)]);
  const onDemand = (suffix: string, loaded = atLoad) => weigh(minus(closure(suffix), loaded));
  return {
    loader: weigh(['synkey.js']),
    page: weigh(page),
    worker: weigh(minus(worker, page)),
    atLoad: weigh(atLoad),
    // Reaching for the launcher loads Lit with the element and the panel's elements together.
    panel: weigh(minus(new Set([...closure('src/chat-element.ts'), ...closure('src/panel.ts')]), atLoad)),
    media: onDemand('sdk/src/media/kit.ts'),
    shortLink: onDemand('sdk/src/http-transport.ts'),
    locale: onDemand('src/locales/zh-CN.ts'),
    inPageEngine: onDemand('expose-host', page),
    everything: weigh(all),
    oneStream: { raw: [...all].reduce((n, f) => n + code(f).length, 0), gzip: gz(Buffer.concat([...all].map(code))) },
  };
}

/** Every .js file under `dir` but the loader, relative to it. */
function walk(dir: string, root = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return walk(path, root);
    const file = relative(root, path);
    return e.name.endsWith('.js') && file !== 'synkey.js' ? [file] : [];
  });
}
