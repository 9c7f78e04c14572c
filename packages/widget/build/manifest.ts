// Reads the embed's build manifest (dist/manifest.json): which files a chunk loads before it runs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A Vite build manifest entry (the fields used here). */
export interface ManifestChunk {
  file: string;
  /** The chunk's name; the key of a chunk shared by several importers is not its source path. */
  name?: string;
  isEntry?: boolean;
  imports?: string[];
  dynamicImports?: string[];
}
export type Manifest = Record<string, ManifestChunk>;

/** The manifest the embed build wrote into `dist`. */
export function readManifest(dist: string): Manifest {
  return JSON.parse(readFileSync(join(dist, 'manifest.json'), 'utf8')) as Manifest;
}

/** The files a chunk loads before it runs: itself and its static imports, transitively. */
export function staticClosure(manifest: Manifest, key: string, into = new Set<string>()): Set<string> {
  const chunk = manifest[key];
  if (!chunk || into.has(chunk.file)) return into;
  into.add(chunk.file);
  for (const dep of chunk.imports ?? []) staticClosure(manifest, dep, into);
  return into;
}

/** The manifest key whose source path ends with `suffix`, or of the shared chunk named `suffix`. */
export function keyOf(manifest: Manifest, suffix: string): string {
  const key = Object.keys(manifest).find((k) => k.endsWith(suffix) || manifest[k]?.name === suffix);
  if (!key) throw new Error(`the embed's manifest has no ${suffix}`);
  return key;
}

/** What a page with the script tag loads at once: the widget's module and the worker's, with their static imports. */
export function filesAtLoad(manifest: Manifest): { page: Set<string>; worker: Set<string> } {
  return {
    page: staticClosure(manifest, keyOf(manifest, 'src/embed.ts')),
    worker: staticClosure(manifest, keyOf(manifest, 'sdk/src/browser/worker.ts')),
  };
}
