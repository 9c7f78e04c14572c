// The script-tag entry, dist/synkey.js: a small classic script. A site adds
//   <script async src="https://chat.example.com/synkey.js" data-server="https://chat.example.com"
//           data-token-url="/api/chat-token"></script>
// or calls window.Synkey.init({...}); calls made before the script loaded wait in window.Synkey.q.
// It puts `<synkey-chat>` on the page at once and imports the widget (synkey-main.js and its chunks,
// from beside this script) to bring it to life.
import { ProtocolError } from '@synkey/protocol/lite';

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

/** `<synkey-chat>` as the embed sets it up (its class is defined once synkey-main.js has loaded). */
type ChatElement = HTMLElement & {
  server?: string;
  tokenUrl?: string;
  getToken?: () => string | Promise<string>;
  clientOptions?: { client: string };
};

/** The files to preload, written in by the build (build/preload-list.ts). */
declare const __SYNKEY_PRELOAD__: string[];

const invalid = (message: string) => new ProtocolError('INVALID', `Synkey.init: ${message}`);

/**
 * Creates the chat on the page and returns its element. Throws a ProtocolError (`INVALID`) for
 * options it cannot use. The element comes to life when the widget's module has loaded.
 */
export function init(options: InitOptions): HTMLElement {
  if (!options?.server) throw invalid('needs { server }');
  const { tokenUrl, getToken, token, maxVoice } = options;
  if (!tokenUrl && !getToken && !token) throw invalid('needs tokenUrl, getToken or token');
  if (maxVoice !== undefined && !(Number.isFinite(maxVoice) && maxVoice > 0))
    throw invalid(`maxVoice must be a number of seconds, not ${maxVoice}`);
  const el = document.createElement('synkey-chat') as ChatElement;
  // Properties set before the element is defined are taken over by it when it upgrades.
  el.server = options.server;
  if (getToken || token) el.getToken = getToken ?? (() => token as string);
  else el.tokenUrl = tokenUrl;
  el.clientOptions = { client: 'synkey-embed' };
  const attrs: Record<string, unknown> = {
    mode: options.mode ?? 'launcher',
    lang: options.lang,
    theme: options.theme,
    'z-index': options.zIndex,
    peer: options.peer,
    'max-voice': maxVoice,
  };
  for (const [name, value] of Object.entries(attrs))
    if (value !== undefined && value !== '') el.setAttribute(name, `${value}`);
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
  const base = script?.src || location.href;
  const main = new URL('synkey-main.js', base).href;
  import(/* @vite-ignore */ main).catch((error: unknown) =>
    console.error(`Synkey: the chat could not load ${main}`, error),
  );
  // The modules synkey-main.js and the engine's worker import, fetched now, side by side, rather
  // than one import after another.
  for (const file of __SYNKEY_PRELOAD__) {
    const link = document.createElement('link');
    link.rel = 'modulepreload';
    link.href = new URL(file, base).href;
    document.head.append(link);
  }
  const whenReady = (fn: () => void) =>
    document.body ? fn() : document.addEventListener('DOMContentLoaded', fn, { once: true });
  whenReady(() => {
    for (const [method, args] of queued) if (method === 'init') init(...(Array.from(args) as [InitOptions]));
    const data = script?.dataset;
    if (data?.server) {
      // Empty attributes count as absent; any mode but inline is the launcher.
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
