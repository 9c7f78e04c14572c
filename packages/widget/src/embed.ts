// The script-tag embed's module, dist/synkey-main.js: the loader (synkey.js) imports it from the
// chat server's origin. It draws each `<synkey-chat>`'s launcher without Lit (launcher-shell.ts)
// and loads Lit, the element and its panel when the chat is first wanted; clients run their engine
// in a worker started from the worker's entry chunk (in the page when the site's CSP forbids
// `blob:` workers).
import { type ClientOptions, createClientWith, type EngineLoaders, loadEngineHost } from '@synkey/sdk/core';
import { startShells } from './launcher-shell';

/**
 * The worker's entry beside this module: its hashed file name is written in by the build
 * (build/worker-name.ts). Not `new URL(…, import.meta.url)`: the bundler would try to resolve it.
 */
const workerUrl = import.meta.url.replace(/[^/]*$/, '__SYNKEY_WORKER_FILE__');

/**
 * The `blob:` worker's whole code. It imports the engine with a dynamic import: the site's CSP
 * judges that by `script-src`, like this script (a static import would need the chat server in
 * `worker-src` too). Messages from the page that arrive before the engine listens are held and
 * replayed; a failed import is thrown from a task, so the page sees the worker's `error` event.
 */
const bootstrap = `const q=[],h=e=>q.push(e);addEventListener("message",h);import(${JSON.stringify(workerUrl)}).then(()=>{removeEventListener("message",h);for(const e of q)dispatchEvent(new MessageEvent("message",{data:e.data,ports:[...e.ports]}))},e=>setTimeout(()=>{throw e}))`;

/**
 * A worker must come from the page's origin, so the page starts a `blob:` module worker that
 * imports the engine from the chat server (CORS). A `blob:` worker cannot be shared between tabs,
 * so tabs elect the owner of the connection instead.
 */
const loaders: EngineLoaders = {
  createWorker(shared) {
    if (shared) throw new Error('a blob: worker cannot be shared');
    const source = URL.createObjectURL(new Blob([bootstrap], { type: 'text/javascript' }));
    try {
      return new Worker(source, { type: 'module', name: 'synkey' });
    } finally {
      URL.revokeObjectURL(source);
    }
  },
  loadHost: loadEngineHost,
};

const makeClient = (options: ClientOptions) => createClientWith(options, loaders);

let chat: Promise<void> | undefined;
/**
 * Lit and `<synkey-chat>`, loaded once when first wanted (a failed load is tried again next time),
 * with the panel's elements fetched alongside; if those fail, the element's panel says so itself.
 */
function loadChat(): Promise<void> {
  chat ??= Promise.all([import('./chat-element'), import('./panel').catch(() => undefined)]).then(
    ([element]) => element.defineChat(makeClient),
    (error: unknown) => {
      chat = undefined;
      console.error('Synkey: the chat could not be loaded', error);
      throw error;
    },
  );
  return chat;
}

startShells({ makeClient, loadChat });
