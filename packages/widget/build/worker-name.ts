// Writes the worker entry's hashed file name into synkey-main.js, which starts the worker from it.
// synkey-main.js itself keeps its plain name (the loader imports it), so changing its text after
// hashing leaves no stale hash behind.
import type { Plugin } from 'vite';

/** The placeholder src/embed.ts uses for the worker entry's file, relative to synkey-main.js. */
export const WORKER_FILE = '__SYNKEY_WORKER_FILE__';

/** Replaces {@link WORKER_FILE} in the `main` chunk with the file name of the entry chunk `worker`. */
export function workerName(main = 'synkey-main', worker = 'synkey-worker'): Plugin {
  return {
    name: 'synkey:worker-name',
    apply: 'build',
    generateBundle(_output, bundle) {
      const chunks = Object.values(bundle).filter((c) => c.type === 'chunk');
      const target = chunks.find((c) => c.isEntry && c.name === worker);
      const host = chunks.find((c) => c.isEntry && c.name === main);
      if (!target || !host) return;
      if (!host.code.includes(WORKER_FILE)) this.error(`${host.fileName} does not name ${WORKER_FILE}`);
      host.code = host.code.replaceAll(WORKER_FILE, target.fileName);
    },
  };
}
