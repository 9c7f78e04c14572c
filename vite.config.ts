import { resolve } from 'node:path';
import { defineConfig, type Plugin } from 'vite';

const server = process.env.SYNKEY_SERVER ?? 'http://127.0.0.1:8787';
const page = (name: string) => resolve(import.meta.dirname, `demo/${name}.html`);

/**
 * In `npm run dev`, fills in embed.html's placeholders the way the server's demo site does at serve
 * time: the chat server's origin (another origin than Vite's) and the signed-in user (`?user=`).
 * The build keeps them for the site to fill in.
 */
function embedPlaceholders(): Plugin {
  return {
    name: 'synkey-embed-placeholders',
    apply: 'serve',
    transformIndexHtml(html, ctx) {
      if (!ctx.path.startsWith('/embed')) return html;
      const user = new URL(ctx.originalUrl ?? '/', 'http://x').searchParams.get('user') ?? 'visitor';
      const safe = /^[A-Za-z0-9_.-]{1,64}$/.test(user) ? user : 'visitor';
      return html.replaceAll('__SYNKEY_CHAT__', server).replaceAll('__SYNKEY_USER__', safe);
    },
  };
}

/** Builds the demo site (served by `npm start`) into dist/demo; `npm run dev` serves it with hot reload. */
export default defineConfig({
  root: resolve(import.meta.dirname, 'demo'),
  plugins: [embedPlaceholders()],
  build: {
    outDir: resolve(import.meta.dirname, 'dist/demo'),
    emptyOutDir: true,
    rollupOptions: {
      input: { index: page('index'), embed: page('embed'), sdk: page('sdk'), widget: page('widget') },
    },
  },
  worker: { format: 'es' },
  server: {
    proxy: {
      '/ws': { target: server.replace(/^http/, 'ws'), ws: true },
      '/link': server,
      '/dev': server,
      '/healthz': server,
      '/media': server,
      // embed.html's "site backend": the chat server's dev token endpoint stands in for it.
      '/api/chat-token': { target: server, rewrite: (path) => path.replace('/api/chat-token', '/dev/token') },
    },
  },
});
