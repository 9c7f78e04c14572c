import { resolve } from 'node:path';
import { defineConfig } from 'vite';

/**
 * Builds only the SDK demo page (demo/sdk.html), which the catch-up benchmark drives: it needs the
 * SDK and its worker, not the widget. The output directory is given on the command line.
 */
export default defineConfig({
  root: resolve(import.meta.dirname, '../demo'),
  build: {
    emptyOutDir: true,
    rollupOptions: { input: { sdk: resolve(import.meta.dirname, '../demo/sdk.html') } },
  },
  worker: { format: 'es' },
});
