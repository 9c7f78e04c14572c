// Writes into the loader (src/loader.ts) the files a page loads at once, read from the embed
// build's manifest, so the loader can fetch them in parallel instead of one import after another.
// SYNKEY_NO_PRELOAD=1 writes an empty list (the benchmarks' baseline: a loader that preloads nothing).
import type { Plugin } from 'vite';
import { filesAtLoad, readManifest } from './manifest.ts';

/**
 * Replaces `__SYNKEY_PRELOAD__` in the loader with the list of files (the embed must be built into
 * the same outDir first), or with an empty list when `enabled` is false (by default: unless
 * SYNKEY_NO_PRELOAD=1).
 */
export function preloadList(enabled = process.env.SYNKEY_NO_PRELOAD !== '1'): Plugin {
  let outDir = '';
  return {
    name: 'synkey:preload-list',
    configResolved(config) {
      outDir = config.build.outDir;
    },
    transform(code) {
      if (!code.includes('__SYNKEY_PRELOAD__')) return undefined;
      const files = enabled ? preloadFiles(outDir) : [];
      return { code: code.replaceAll('__SYNKEY_PRELOAD__', JSON.stringify(files)), map: null };
    },
  };
}

/** The files at load but synkey-main.js (which the loader imports itself), from the manifest in `outDir`. */
function preloadFiles(outDir: string): string[] {
  const { page, worker } = filesAtLoad(readManifest(outDir));
  return [...new Set([...page, ...worker])].filter((f) => f !== 'synkey-main.js');
}
