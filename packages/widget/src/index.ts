/**
 * @synkey/widget — `<synkey-chat>`, the Synkey chat as a web component (Lit, shadow DOM, no global CSS).
 *
 * Importing this module defines the element (once: a second copy of the script does not throw) and
 * lets elements configured with `server` + `token-url` make their client with the SDK's
 * `createClient`. Bundles that bring their own worker import `./define` instead and set
 * `SynkeyChat.clientFactory` themselves.
 *
 * @example
 * ```html
 * <synkey-chat server="https://chat.example.com" token-url="/api/chat-token"></synkey-chat>
 * <script type="module">import '@synkey/widget';</script>
 * ```
 *
 * @example
 * ```ts
 * import { createClient } from '@synkey/sdk';
 * import '@synkey/widget';
 * const chat = document.createElement('synkey-chat');
 * chat.client = createClient({ server, getToken });
 * chat.setAttribute('mode', 'inline');
 * chat.addEventListener('synkey-unread', (e) => setBadge(e.detail));
 * document.body.append(chat);
 * ```
 *
 * @packageDocumentation
 */

import { createClient } from '@synkey/sdk';
import { SynkeyChat } from './synkey-chat';

// Elements configured with `server` + `token-url` make their client with the SDK's default worker.
SynkeyChat.clientFactory ??= createClient;

export { SynkeyComposer } from './composer';
export { SynkeyBanner } from './connection-banner';
export { SynkeyConversationList } from './conversation-list';
export { defineOnce, defineSynkeyChat } from './define';
export { fetchToken } from './fetch-token';
export { hasLocale, I18n, loadLocale, pickLocale } from './i18n';
export type { Strings } from './locales/en';
export { SynkeyChat } from './synkey-chat';
export { SynkeyThread } from './thread-view';

declare global {
  interface HTMLElementTagNameMap {
    'synkey-chat': SynkeyChat;
  }
  interface HTMLElementEventMap {
    'synkey-unread': CustomEvent<number>;
  }
}
