import { resolve } from 'node:path';
import { defineConfig } from 'vite';
import { litTemplates } from './build/minify-templates.ts';
import { preloadList } from './build/preload-list.ts';
import { terser } from './build/terser.ts';
import { workerName } from './build/worker-name.ts';

/**
 * `vite build -c packages/widget/vite.config.ts` writes the script-tag embed into dist/:
 * - synkey-main.js (the widget, `src/embed.ts`) and chunks/synkey-worker-<hash>.js (the engine's
 *   worker), ES modules sharing their code through dist/chunks/; what is needed only later (the chat panel, the
 *   short link, media, other languages, the in-page engine) is in chunks of its own, loaded on use.
 * SYNKEY_BUILD=loader writes dist/synkey.js: the small classic script a site's `<script>` tag
 * loads, which imports synkey-main.js from beside it and preloads the files the page and the
 * worker need at once (listed from the first build's manifest: run it after, into the same dir).
 * SYNKEY_BUILD=module writes the ES module build for npm into dist/module (scripts/pack.ts gives it
 * another outDir): one file per source module, unminified but for the templates, lit and @synkey/*
 * external, so the app's bundler tree-shakes and minifies it with the rest.
 */
const kind = process.env.SYNKEY_BUILD ?? 'embed';
const src = (path: string) => resolve(import.meta.dirname, 'src', path);

const builds = {
  module: {
    plugins: [litTemplates()],
    build: {
      outDir: resolve(import.meta.dirname, 'dist/module'),
      emptyOutDir: true,
      target: 'es2022',
      minify: false,
      lib: { entry: src('index.ts'), formats: ['es' as const] },
      rollupOptions: {
        external: [/^lit(\/|$)/, /^@synkey\//],
        output: {
          preserveModules: true,
          preserveModulesRoot: src(''),
          entryFileNames: '[name].js',
        },
      },
    },
  },
  embed: {
    // Lit templates minified, the worker's file name written into synkey-main.js, then every chunk
    // through terser (it packs them smaller than Vite's minifier).
    plugins: [litTemplates(), workerName(), terser()],
    build: {
      outDir: resolve(import.meta.dirname, 'dist'),
      emptyOutDir: true,
      target: 'es2022',
      manifest: 'manifest.json',
      modulePreload: false as const,
      lib: {
        entry: {
          'synkey-main': src('embed.ts'),
          'synkey-worker': resolve(import.meta.dirname, '../sdk/src/browser/worker.ts'),
        },
        formats: ['es' as const],
      },
      rollupOptions: {
        output: {
          // synkey-main.js keeps its name for the loader; the worker's entry is hashed like the chunks, so
          // it is cached for good and the worker starts without asking the server again.
          entryFileNames: (chunk: { name: string }) =>
            chunk.name === 'synkey-main' ? '[name].js' : 'chunks/[name]-[hash].js',
          chunkFileNames: 'chunks/[name]-[hash].js',
          // The launcher shell's small modules that Lit's side shares: one file, not five (each file costs gzip overhead).
          codeSplitting: {
            groups: [
              { name: 'launcher', test: /src\/(fetch-token|launcher-strings|shared-css|locale-tag|icon-paths)\.ts$/ },
            ],
          },
        },
      },
    },
  },
  loader: {
    plugins: [preloadList(), terser()],
    build: {
      outDir: resolve(import.meta.dirname, 'dist'),
      emptyOutDir: false,
      target: 'es2022',
      lib: { entry: src('loader.ts'), formats: ['iife' as const], name: 'SynkeyLoader', fileName: () => 'synkey.js' },
    },
  },
};

const chosen = builds[kind as keyof typeof builds];
if (!chosen) throw new Error(`SYNKEY_BUILD=${kind}: expected embed, loader or module`);

export default defineConfig({ root: import.meta.dirname, ...chosen });
