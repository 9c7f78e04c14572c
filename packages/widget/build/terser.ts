// Minifies the embed's chunks with terser, which packs them smaller than Vite's built-in minifier.
// It runs in `generateBundle`, after every other plugin, so it also reaches the inlined worker's
// chunk (give it to `worker.plugins` as well).
import { type MinifyOptions, minify } from 'terser';
import type { Plugin } from 'vite';

/**
 * The options the embed is minified with. Safe transforms only: the `unsafe_*` and `pure_getters`
 * ones saved under 0.1 KB more, not worth a getter with a side effect silently dropped. A third
 * pass saves another 0.1 KB; a fourth nothing.
 */
export const TERSER_OPTIONS: MinifyOptions = {
  ecma: 2020,
  compress: { passes: 3 },
  format: { comments: false },
};

/** The plugin: terser over every JavaScript chunk of the bundle. */
export function terser(options: MinifyOptions = TERSER_OPTIONS): Plugin {
  return {
    name: 'synkey:terser',
    apply: 'build',
    async generateBundle(output, bundle) {
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== 'chunk') continue;
        const result = await minify(chunk.code, { ...options, module: output.format === 'es' });
        if (result.code === undefined) throw new Error(`terser produced nothing for ${chunk.fileName}`);
        chunk.code = result.code;
      }
    },
  };
}
