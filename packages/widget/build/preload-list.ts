// Writes into the loader (src/loader.ts) the files a page loads at once, read from the embed
// build's manifest, so the loader can fetch them in parallel instead of one import after another.
import type { Plugin } from 'vite';
import { filesAtLoad, readManifest } from './manifest.ts';

/** Replaces `__SYNKEY_PRELOAD__` in the loader with the list of files (the embed must be built into the same outDir first). */
export function preloadList(): Plugin {
  let outDir = '';
  return {
    name: 'synkey:preload-list',
    configResolved(config) {
      outDir = config.build.outDir;
    },
    transform(code) {
      if (!code.includes('__SYNKEY_PRELOAD__')) return undefined;
      const { page, worker } = filesAtLoad(readManifest(outDir));
      const files = [...new Set([...page, ...worker])].filter((f) => f !== 'synkey-main.js');
      return { code: code.replaceAll('__SYNKEY_PRELOAD__', JSON.stringify(files)), map: null };
    },
  };
}
