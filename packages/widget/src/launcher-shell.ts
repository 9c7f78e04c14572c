// The script-tag embed's launcher before Lit has loaded. A page loads only this, the client and the
// engine; Lit, `<synkey-chat>` and the panel come when a visitor reaches for the chat (hover, focus,
// touch, click). The shell draws the same launcher into the element's shadow root, with the unread
// badge from a client it makes and hands to the element, which renders afresh once defined.
import type { ClientOptions, SynkeyClient } from '@synkey/sdk/core';
import { fetchToken } from './fetch-token';
import { ICON_PATHS } from './icon-paths';
import { LAUNCHER_STRINGS } from './launcher-strings';
import { langOf, pickLocale } from './locale-tag';
import { BASE_CSS, LAUNCHER_CSS, THEME_CSS } from './shared-css';

/** `<synkey-chat>` as the loader or the page's markup set it up, before its class is defined. */
type ChatElement = HTMLElement & {
  client?: SynkeyClient;
  server?: string;
  tokenUrl?: string;
  getToken?: () => string | Promise<string>;
  clientOptions?: Partial<ClientOptions>;
  open?(): void;
};

/** What the shells need from the embed. */
export interface ShellOptions {
  makeClient(options: ClientOptions): SynkeyClient;
  /** Loads and defines `<synkey-chat>` and the panel's elements; rejects when that fails (tried again later). */
  loadChat(): Promise<void>;
}

const SVG = 'http://www.w3.org/2000/svg';
let sheet: CSSStyleSheet | undefined;

/**
 * Draws the launcher of every `<synkey-chat>` on the page, now and added later, until the element
 * is defined; an inline chat loads the element at once. Clients made here are closed when their
 * element leaves the page.
 */
export function startShells(options: ShellOptions): void {
  const seen = new WeakSet<Element>();
  const clients = new Map<Element, SynkeyClient>();
  const mount = (el: Element) => {
    if (seen.has(el) || customElements.get('synkey-chat')) return;
    seen.add(el);
    const client = shell(el as ChatElement, options);
    if (client) clients.set(el, client);
  };
  const left = (el: Element, client: SynkeyClient) =>
    setTimeout(() => {
      if (el.isConnected || clients.get(el) !== client) return;
      clients.delete(el);
      void client.close();
    });
  for (const el of document.querySelectorAll('synkey-chat')) mount(el);
  new MutationObserver((records) => {
    for (const record of records) {
      for (const node of record.addedNodes) {
        if (!(node instanceof Element)) continue;
        if (node.localName === 'synkey-chat') mount(node);
        for (const el of node.querySelectorAll('synkey-chat')) mount(el);
      }
      if (record.removedNodes.length > 0) for (const [el, client] of clients) if (!el.isConnected) left(el, client);
    }
  }).observe(document.documentElement, { childList: true, subtree: true });
}

/** The launcher of one element, or the element loaded at once; returns the client it made. */
function shell(el: ChatElement, options: ShellOptions): SynkeyClient | undefined {
  const server = el.server ?? el.getAttribute('server') ?? undefined;
  const tokenUrl = el.tokenUrl ?? el.getAttribute('token-url') ?? undefined;
  const getToken = el.getToken ?? (tokenUrl ? () => fetchToken(tokenUrl) : undefined);
  if (el.getAttribute('mode') === 'inline' || el.client || el.shadowRoot || !server || !getToken) {
    options.loadChat().catch(() => undefined);
    return undefined;
  }
  const client = options.makeClient({ server, getToken, client: 'synkey-embed', ...el.clientOptions });
  // The element takes the client over when it is defined (a property set before then is kept).
  el.client = client;
  const root = el.attachShadow({ mode: 'open' });
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(THEME_CSS + BASE_CSS + LAUNCHER_CSS);
  }
  root.adoptedStyleSheets = [sheet];
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'launcher';
  button.setAttribute('part', 'launcher');
  button.setAttribute('aria-expanded', 'false');
  button.style.zIndex = el.getAttribute('z-index') || '2147483000';
  const icon = document.createElementNS(SVG, 'svg');
  icon.setAttribute('class', 'icon');
  icon.setAttribute('viewBox', '0 0 24 24');
  icon.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('d', ICON_PATHS.chat);
  icon.append(path);
  const badge = document.createElement('span');
  badge.className = 'badge';
  badge.setAttribute('aria-hidden', 'true');
  button.append(icon);
  root.append(button);

  const strings = LAUNCHER_STRINGS[pickLocale(langOf(el)) as keyof typeof LAUNCHER_STRINGS];
  let unread = -1;
  const show = (n: number) => {
    button.setAttribute('aria-label', n ? strings.openChatUnread.replace('{n}', String(n)) : strings.openChat);
    badge.textContent = n > 99 ? '99+' : String(n);
    if (n) button.append(badge);
    else badge.remove();
  };
  show(0);
  const stop = client.watchConversations((list) => {
    const n = list.reduce((sum, c) => sum + c.unread, 0);
    show(n);
    if (n === unread) return;
    unread = n;
    el.dispatchEvent(new CustomEvent('synkey-unread', { detail: n, bubbles: true, composed: true }));
  });
  void customElements.whenDefined('synkey-chat').then(stop);

  const load = () => options.loadChat();
  const prefetch = () => void load().catch(() => undefined);
  button.addEventListener('pointerenter', prefetch);
  button.addEventListener('focus', prefetch);
  button.addEventListener('touchstart', prefetch, { passive: true });
  button.addEventListener('click', () => {
    button.setAttribute('aria-busy', 'true');
    load().then(
      () => el.open?.(),
      () => button.removeAttribute('aria-busy'),
    );
  });
  return client;
}
