import { resolve } from 'node:path';
import { defineConfig } from 'vite';
import { litTemplates } from './build/minify-templates.ts';
import { terser } from './build/terser.ts';

/**
 * `vite build -c packages/widget/vite.config.ts` writes dist/synkey.js: the single-file script-tag
 * bundle (widget + SDK client, the engine's worker inlined as a `blob:` URL).
 * SYNKEY_BUILD=engine writes dist/synkey-engine.js: the engine as a classic script, which the embed
 * loads into the page only when the page's CSP forbids `blob:` workers.
 * SYNKEY_BUILD=module writes the ES module build for npm into dist/module (scripts/pack.ts gives it
 * another outDir): one file per source module, unminified but for the templates, lit and @synkey/*
 * external, so the app's bundler tree-shakes and minifies it with the rest.
 */
const kind = process.env.SYNKEY_BUILD ?? 'embed';
const moduleBuild = kind === 'module';

export default defineConfig({
  root: import.meta.dirname,
  // Lit templates minified everywhere; the script-tag bundles (and their inlined worker) also through terser.
  plugins: moduleBuild ? [litTemplates()] : [litTemplates(), terser()],
  worker: { format: 'es', plugins: () => [litTemplates(), terser()] },
  build: moduleBuild
    ? {
        outDir: resolve(import.meta.dirname, 'dist/module'),
        emptyOutDir: true,
        target: 'es2022',
        minify: false,
        lib: { entry: resolve(import.meta.dirname, 'src/index.ts'), formats: ['es'] },
        rollupOptions: {
          external: [/^lit(\/|$)/, /^@synkey\//],
          output: {
            preserveModules: true,
            preserveModulesRoot: resolve(import.meta.dirname, 'src'),
            entryFileNames: '[name].js',
          },
        },
      }
    : {
        outDir: resolve(import.meta.dirname, 'dist'),
        emptyOutDir: kind === 'embed',
        target: 'es2022',
        lib:
          kind === 'engine'
            ? {
                entry: resolve(import.meta.dirname, '../sdk/src/browser/expose-host.ts'),
                formats: ['iife'],
                name: 'SynkeyEngine',
                fileName: () => 'synkey-engine.js',
              }
            : {
                entry: resolve(import.meta.dirname, 'src/embed.ts'),
                formats: ['iife'],
                name: 'SynkeyEmbed',
                fileName: () => 'synkey.js',
              },
      },
});
