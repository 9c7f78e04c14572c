import { resolve } from 'node:path';
import { defineConfig } from 'vite';

const server = process.env.SYNKEY_SERVER ?? 'http://127.0.0.1:8787';

/** Builds the demo site (served by `npm start`) into dist/demo; `npm run dev` serves it with hot reload. */
export default defineConfig({
  root: resolve(import.meta.dirname, 'demo'),
  build: {
    outDir: resolve(import.meta.dirname, 'dist/demo'),
    emptyOutDir: true,
    rollupOptions: {
      input: {
        sdk: resolve(import.meta.dirname, 'demo/sdk.html'),
        widget: resolve(import.meta.dirname, 'demo/widget.html'),
      },
    },
  },
  worker: { format: 'es' },
  server: {
    proxy: {
      '/ws': { target: server.replace(/^http/, 'ws'), ws: true },
      '/link': server,
      '/dev': server,
      '/healthz': server,
    },
  },
});
