// The script-tag entry (dist/synkey.js). A site adds
//   <script async src="https://chat.example.com/synkey.js" data-server="https://chat.example.com"
//           data-token-url="/api/chat-token"></script>
// or calls window.Synkey.init({...}); calls made before the script loaded wait in window.Synkey.q.
import { createClientWith, type EngineLoaders, ErrorCode, ProtocolError, type SynkeyClient } from '@synkey/sdk/core';
import EngineWorker from '@synkey/sdk/worker?worker&inline';
import './define';
import { fetchToken, SynkeyChat } from './synkey-chat';

/** This script's own URL, to find synkey-engine.js beside it. */
const scriptUrl = (document.currentScript as HTMLScriptElement | null)?.src ?? '';

/** Options of {@link init}. */
export interface InitOptions {
  /** The Synkey server's base URL. */
  server: string;
  /** Your backend's endpoint that answers the signed-in user's chat token (JSON `{ token }` or plain text). */
  tokenUrl?: string;
  /** Or: a function that fetches the token. */
  getToken?: () => string | Promise<string>;
  /** Or: a fixed token. */
  token?: string;
  /** `launcher` (floating button, default) or `inline` (fills `target`). */
  mode?: 'launcher' | 'inline';
  /** Where to put the chat: an element or a selector. Default: the end of `<body>`. */
  target?: string | Element;
  lang?: string;
  theme?: 'light' | 'dark' | 'auto';
  zIndex?: number;
  /** Opens a direct conversation with this user id. */
  peer?: string;
  /** The longest voice note in seconds (default 60; the widget keeps it within 1–300). */
  maxVoice?: number;
}

/** The `<synkey-chat>` element as the embed drives it. */
type ChatElement = HTMLElement & { client?: SynkeyClient };

/**
 * The engine comes inlined as a `blob:` worker (a SharedWorker cannot be shared from one, so tabs
 * elect the owner of the connection instead). When the page's CSP forbids `blob:` workers, the
 * engine runs in the page, loaded from synkey-engine.js beside this script.
 */
const loaders: EngineLoaders = {
  createWorker(shared) {
    if (shared) throw new Error('an inlined worker cannot be shared');
    return new EngineWorker({ name: 'synkey' });
  },
  loadHost: () =>
    new Promise((resolve, reject) => {
      const scope = window as unknown as { SynkeyEngine?: Awaited<ReturnType<EngineLoaders['loadHost']>> };
      if (scope.SynkeyEngine) {
        resolve(scope.SynkeyEngine);
        return;
      }
      const tag = document.createElement('script');
      tag.src = new URL('synkey-engine.js', scriptUrl || location.href).href;
      tag.async = true;
      tag.onload = () =>
        scope.SynkeyEngine
          ? resolve(scope.SynkeyEngine)
          : reject(new ProtocolError(ErrorCode.Unavailable, 'synkey-engine.js did not load the engine'));
      tag.onerror = () => reject(new ProtocolError(ErrorCode.Unavailable, `could not load ${tag.src}`));
      document.head.append(tag);
    }),
};

// Elements made from markup (`<synkey-chat server=… token-url=…>`) get their client the embed's way too.
SynkeyChat.clientFactory = (options) => createClientWith(options, loaders);

/** Creates the chat on the page and returns its element. */
export function init(options: InitOptions): ChatElement {
  if (!options?.server) throw new ProtocolError(ErrorCode.Invalid, 'Synkey.init needs { server }');
  const { tokenUrl, getToken, token } = options;
  const source = getToken ?? (tokenUrl ? () => fetchToken(tokenUrl) : undefined);
  if (!source && !token) throw new ProtocolError(ErrorCode.Invalid, 'Synkey.init needs tokenUrl, getToken or token');
  const { maxVoice } = options;
  if (maxVoice !== undefined && !(Number.isFinite(maxVoice) && maxVoice > 0))
    throw new ProtocolError(ErrorCode.Invalid, `Synkey.init: maxVoice must be a number of seconds, not ${maxVoice}`);
  const client = createClientWith(
    { server: options.server, ...(source ? { getToken: source } : { token }), client: 'synkey-embed' },
    loaders,
  );
  const el = document.createElement('synkey-chat') as ChatElement;
  el.client = client;
  el.setAttribute('mode', options.mode ?? 'launcher');
  if (options.lang) el.setAttribute('lang', options.lang);
  if (options.theme) el.setAttribute('theme', options.theme);
  if (options.zIndex !== undefined) el.setAttribute('z-index', String(options.zIndex));
  if (options.peer) el.setAttribute('peer', options.peer);
  if (maxVoice !== undefined) el.setAttribute('max-voice', String(maxVoice));
  const target = typeof options.target === 'string' ? document.querySelector(options.target) : options.target;
  (target ?? document.body).append(el);
  return el;
}

type Queued = [string, ArrayLike<unknown>];
interface SynkeyGlobal {
  init: typeof init;
  q?: Queued[];
}

const scope = window as unknown as { Synkey?: SynkeyGlobal };
const script = document.currentScript as HTMLScriptElement | null;
const queued = scope.Synkey?.q ?? [];
if (!scope.Synkey || scope.Synkey.q) {
  scope.Synkey = { init };
  const whenReady = (fn: () => void) =>
    document.body ? fn() : document.addEventListener('DOMContentLoaded', fn, { once: true });
  whenReady(() => {
    for (const [method, args] of queued) if (method === 'init') init(...(Array.from(args) as [InitOptions]));
    const data = script?.dataset;
    if (data?.server) {
      // Empty attributes count as absent (`init` skips falsy options); any mode but inline is the launcher.
      init({
        server: data.server,
        tokenUrl: data.tokenUrl,
        mode: data.mode === 'inline' ? 'inline' : undefined,
        lang: data.lang,
        peer: data.peer,
        target: data.target || undefined,
        maxVoice: data.maxVoice ? Number(data.maxVoice) : undefined,
      });
    }
  });
}
