import type { ClientOptions, SynkeyClient } from '@synkey/sdk/core';
import { css, html, LitElement, nothing, type PropertyValues, unsafeCSS } from 'lit';
import { styleMap } from 'lit/directives/style-map.js';
import { ClientController } from './client-controller';
import type { SynkeyConversationList } from './conversation-list';
import { fetchToken } from './fetch-token';
import { hasLocale, I18n, langOf, loadLocale, pickLocale } from './i18n';
import { avatar, icon, iconButton } from './icons';
import { titleOf } from './model';
import { LAUNCHER_CSS } from './shared-css';
import { base, theme } from './styles';
import type { SynkeyThread } from './thread-view';

/**
 * `<synkey-chat>`: a complete chat — a floating launcher with a panel (`mode="launcher"`, the
 * default) or a chat that fills its container (`mode="inline"`).
 *
 * Give it a `client` (from `createClient`), or `server` plus `token-url` (or a `getToken`
 * function) and it makes its own client.
 *
 * @attr mode - `launcher` (default) or `inline`
 * @attr server - the Synkey server's base URL (when no `client` is given)
 * @attr token-url - where to fetch the user's token: JSON `{ token }` or plain text
 * @attr lang - `en`, `zh-CN` or `ko`; default: the closest `[lang]`, the document's, the browser's
 * @attr theme - `light` (default), `dark` or `auto` (follows prefers-color-scheme)
 * @attr z-index - the launcher's and panel's stacking order
 * @attr peer - a user id: open the direct conversation with them at start
 * @attr max-voice - the longest voice note in seconds (default 60, at most 300); recording stops and sends then
 * @fires synkey-unread - `detail`: the total unread count, whenever it changes
 * @fires synkey-open - the panel opened
 * @fires synkey-close - the panel closed
 * @csspart launcher - the round button
 * @csspart panel - the chat panel
 * @csspart header - the panel's title bars
 * @csspart banner - the connection banner
 * @csspart list - the conversation list
 * @csspart thread - one conversation
 * @csspart log - the message log in the thread
 * @csspart bubble - a message bubble (also `bubble-mine` / `bubble-theirs`)
 * @csspart new-messages - the "new messages" pill
 * @csspart composer - the message box
 * @csspart viewer - the full-size image viewer
 * @cssprop --synkey-accent - buttons, my bubbles, badges
 * @cssprop --synkey-on-accent - text on the accent colour
 * @cssprop --synkey-bg - panel background
 * @cssprop --synkey-fg - text colour
 * @cssprop --synkey-muted - secondary text
 * @cssprop --synkey-surface - thread background
 * @cssprop --synkey-bubble - others' bubbles
 * @cssprop --synkey-border - lines
 * @cssprop --synkey-danger - the failed mark
 * @cssprop --synkey-read - the read ticks on my bubbles
 * @cssprop --synkey-radius - the panel's corner radius
 * @cssprop --synkey-font - the font stack
 */
export class SynkeyChat extends LitElement {
  /**
   * Makes the client of an element given `server` and `token-url` / `getToken` instead of a
   * `client`. The package entry sets it to the SDK's `createClient`; a bundle that brings its own
   * worker sets its own. Left unset, such an element waits for a `client`.
   */
  static clientFactory: ((options: ClientOptions) => SynkeyClient) | undefined;

  /**
   * Loads the definitions of the panel's elements before the panel first shows. The package
   * defines them up front; the script-tag embed loads them on demand (when the launcher is
   * hovered, focused or opened, or at once in inline mode).
   */
  static loadPanel: () => Promise<unknown> = () => Promise.resolve();

  static override properties = {
    client: { attribute: false },
    getToken: { attribute: false },
    clientOptions: { attribute: false },
    server: {},
    tokenUrl: { attribute: 'token-url' },
    mode: { reflect: true },
    locale: { attribute: 'lang' },
    theme: { reflect: true },
    zIndex: { attribute: 'z-index' },
    peer: {},
    maxVoice: { attribute: 'max-voice', type: Number },
    opened: { state: true },
    current: { state: true },
    ready: { state: true },
    loadFailed: { state: true },
  };

  static override styles = [
    theme,
    base,
    unsafeCSS(LAUNCHER_CSS),
    css`
      :host([mode='inline']) {
        height: 100%;
        min-height: 320px;
        container: panel / inline-size;
      }
      /* The host element is in the page's reach (a reset like * { all: unset !important } hits it): restate the type here. */
      .panel {
        font: 14px/1.45 var(--_font);
        color: var(--_fg);
      }
      .panel {
        display: grid;
        grid-template: 'head' auto 'banner' auto 'body' 1fr / 100%;
        overflow: hidden;
        background: var(--_bg);
      }
      .float {
        position: fixed;
        right: 20px;
        bottom: 88px;
        width: 380px;
        height: min(640px, calc(100vh - 108px));
        height: min(640px, calc(100dvh - 108px));
        border-radius: var(--_radius);
        box-shadow:
          0 12px 48px rgb(0 0 0 / 0.2),
          0 0 0 1px rgb(0 0 0 / 0.04);
        transform-origin: bottom right;
        animation: open 0.2s ease-out;
      }
      .inline {
        height: 100%;
        border: 1px solid var(--_border);
        border-radius: var(--_radius);
      }
      @keyframes open {
        from {
          opacity: 0;
          transform: translateY(12px) scale(0.97);
        }
      }
      header {
        grid-area: head;
        display: flex;
        align-items: center;
        gap: 8px;
        min-height: 60px;
        padding: 10px 10px 10px 16px;
        border-bottom: 1px solid var(--_border);
        background: var(--_bg);
      }
      .th {
        padding-left: 6px;
      }
      h2 {
        flex: 1;
        min-width: 0;
        margin: 0;
        font-size: 17px;
        font-weight: 700;
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
      }
      .who {
        flex: 1;
        min-width: 0;
      }
      .who h2 {
        font-size: 15.5px;
        font-weight: 600;
      }
      .who p {
        margin: 0;
        font-size: 12.5px;
        color: var(--_muted);
      }
      .th .avatar {
        width: 36px;
        height: 36px;
        font-size: 15px;
      }
      synkey-banner {
        grid-area: banner;
      }
      synkey-conversation-list,
      synkey-thread,
      .pick {
        grid-area: body;
        min-height: 0;
      }
      .pick {
        display: grid;
        place-items: center;
        color: var(--_muted);
        background: var(--_surface);
      }
      .load-failed {
        grid-area: body;
        display: grid;
        place-content: center;
        justify-items: center;
        gap: 12px;
        padding: 24px;
        text-align: center;
        background: var(--_surface);
      }
      .load-failed p {
        margin: 0;
        max-width: 28ch;
      }
      .try {
        padding: 8px 16px;
        border-radius: 18px;
        background: var(--_accent);
        color: var(--_on-accent);
        font-weight: 600;
      }
      .list-view .th,
      .list-view synkey-thread,
      .thread-view .lh,
      .thread-view synkey-conversation-list,
      .pick {
        display: none;
      }
      @container panel (min-width: 640px) {
        .panel {
          grid-template: 'lh th' auto 'banner banner' auto 'list body' 1fr / minmax(260px, 34%) 1fr;
        }
        .panel .lh,
        .panel .th {
          display: flex;
        }
        .lh {
          grid-area: lh;
          border-right: 1px solid var(--_border);
        }
        .th {
          grid-area: th;
          padding-left: 16px;
        }
        .panel synkey-conversation-list {
          display: block;
          grid-area: list;
          border-right: 1px solid var(--_border);
        }
        .list-view .th {
          visibility: hidden;
        }
        .back {
          display: none;
        }
        .list-view .pick {
          display: grid;
        }
      }
      @media (max-width: 480px), (max-height: 480px) {
        .float {
          inset: 0;
          width: auto;
          height: auto;
          border-radius: 0;
        }
        .launcher.open {
          display: none;
        }
      }
    `,
  ];

  /** The client to use. When not given, one is made from `server` and `token-url` / `getToken`. */
  declare client: SynkeyClient | undefined;
  /** Fetches the user's token, for the client this element makes. */
  declare getToken: (() => string | Promise<string>) | undefined;
  /** More options for the client this element makes (e.g. `createWorker`, `transport`). */
  declare clientOptions: Partial<ClientOptions> | undefined;
  declare server: string | undefined;
  declare tokenUrl: string | undefined;
  declare mode: 'launcher' | 'inline';
  declare locale: string | undefined;
  declare theme: 'light' | 'dark' | 'auto';
  declare zIndex: string | undefined;
  declare peer: string | undefined;
  declare maxVoice: number | undefined;
  declare opened: boolean;
  declare current: number | undefined;
  /** The panel's elements and the strings of the element's language are loaded. */
  declare ready: boolean;
  /** Loading the panel's elements failed: the panel says so and offers to try again. */
  declare loadFailed: boolean;

  private readonly cc = new ClientController(this);
  private own: SynkeyClient | undefined;
  private closing: ReturnType<typeof setTimeout> | undefined;
  private i18n = new I18n('en');
  private unread = -1;
  private peerDone: string | undefined;
  /** The peer whose conversation the server is being asked for. */
  private peerAsking: string | undefined;
  private focusAfter: 'list' | 'thread' | 'launcher' | undefined;
  private loading: Promise<void> | undefined;
  /** The strings of the element's language, while they load. */
  private strings: Promise<unknown> = Promise.resolve();

  constructor() {
    super();
    this.mode = 'launcher';
    this.theme = 'light';
    this.opened = false;
    this.ready = false;
    this.loadFailed = false;
  }

  /**
   * The embed's launcher shell may have drawn into this shadow root before the element was defined:
   * render afresh, keeping the focus on the launcher if it was there.
   */
  protected override createRenderRoot(): HTMLElement | DocumentFragment {
    // Cleared before Lit looks at the root: it would render before the shell's first node.
    const drawn = this.shadowRoot;
    if (drawn?.firstChild) {
      if (drawn.activeElement) this.focusAfter = 'launcher';
      drawn.replaceChildren();
    }
    return super.createRenderRoot();
  }

  /** The client in use: the one given, or the one this element made. */
  get activeClient(): SynkeyClient | undefined {
    return this.client ?? this.own;
  }

  /** Opens the panel (launcher mode). */
  open(): void {
    if (this.opened) return;
    this.opened = true;
    this.focusAfter = this.current === undefined ? 'list' : 'thread';
    this.dispatchEvent(new CustomEvent('synkey-open', { bubbles: true, composed: true }));
  }

  /** Closes the panel (launcher mode); focus returns to the launcher if it was in the panel. */
  close(): void {
    if (!this.opened) return;
    const inside = this.shadowRoot?.activeElement != null;
    this.opened = false;
    if (inside) this.focusAfter = 'launcher';
    this.dispatchEvent(new CustomEvent('synkey-close', { bubbles: true, composed: true }));
  }

  /** Shows conversation `id` (and opens the panel). */
  openConversation(id: number): void {
    this.current = id;
    this.focusAfter = 'thread';
    this.open();
  }

  override connectedCallback(): void {
    super.connectedCallback();
    clearTimeout(this.closing);
    if (!this.activeClient) this.requestUpdate();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    // A client this element made closes when the element leaves the page (not when it merely moves).
    this.closing = setTimeout(() => {
      void this.own?.close();
      this.own = undefined;
    });
  }

  override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('locale') || !this.hasUpdated) this.speak(pickLocale(langOf(this)));
    if ((this.mode === 'inline' || this.opened) && !this.loadFailed) void this.prepare();
    if (this.client && this.own) {
      void this.own.close();
      this.own = undefined;
    }
    const make = SynkeyChat.clientFactory;
    if (make && !this.activeClient && this.server && (this.getToken || this.tokenUrl)) {
      const url = this.tokenUrl;
      this.own = make({
        server: this.server,
        getToken: this.getToken ?? (() => fetchToken(url as string)),
        client: 'synkey-widget',
        ...this.clientOptions,
      });
    }
    this.cc.use(this.activeClient);
  }

  /** Switches to `locale`'s strings, loading them first unless they are (English stands in meanwhile). */
  private speak(locale: string) {
    if (locale === this.i18n.locale) return;
    if (hasLocale(locale)) {
      this.i18n = new I18n(locale);
      return;
    }
    this.strings = loadLocale(locale).then(
      (i18n) => {
        if (pickLocale(langOf(this)) !== locale) return;
        this.i18n = i18n;
        this.requestUpdate();
      },
      (error: unknown) => console.warn(`Synkey: the ${locale} strings could not be loaded, English stands in`, error),
    );
  }

  /**
   * Loads the panel's elements (and waits for the strings being loaded), once. When that fails
   * (offline, blocked) the panel says so; hovering the launcher or "Try again" loads again.
   */
  private prepare(): Promise<void> {
    this.loading ??= Promise.all([SynkeyChat.loadPanel(), this.strings]).then(
      () => {
        this.ready = true;
        this.loadFailed = false;
      },
      (error: unknown) => {
        this.loading = undefined;
        this.loadFailed = true;
        console.error('Synkey: the chat panel could not be loaded', error);
      },
    );
    return this.loading;
  }

  override render() {
    const t = this.i18n;
    const launcher = this.mode !== 'inline';
    const z = styleMap({ zIndex: this.zIndex ?? '2147483000' });
    const unread = this.total();
    const shown = !launcher || this.opened;
    return html`${shown && this.ready ? this.panel(launcher) : shown && this.loadFailed ? this.failedPanel(launcher) : nothing}
    ${
      launcher
        ? html`<button
          class="launcher ${this.opened ? 'open' : ''}"
          part="launcher"
          type="button"
          style=${z}
          aria-label=${this.opened ? t.t('closeChat') : unread ? t.t('openChatUnread', { n: unread }) : t.t('openChat')}
          aria-expanded=${this.opened ? 'true' : 'false'}
          aria-controls="panel"
          @click=${() => (this.opened ? this.close() : this.open())}
          @pointerenter=${this.prefetch}
          @focus=${this.prefetch}
        >
          ${icon(this.opened ? 'close' : 'chat')}
          ${unread ? html`<span class="badge" aria-hidden="true">${unread > 99 ? '99+' : unread}</span>` : nothing}
        </button>`
        : nothing
    }`;
  }

  /** The panel's box: a dialog over the page (launcher) or a region (inline); `view` styles what it shows. */
  private frame(launcher: boolean, view: string, content: unknown) {
    return html`<div
      id="panel"
      class="panel ${launcher ? 'float' : 'inline'} ${view}"
      part="panel"
      role=${launcher ? 'dialog' : 'region'}
      aria-label=${this.i18n.t('messages')}
      style=${styleMap(launcher ? { zIndex: this.zIndex ?? '2147483000' } : {})}
      @keydown=${this.keydown}
      @synkey-select=${this.select}
    >
      ${content}
    </div>`;
  }

  private select(e: CustomEvent<{ id: number }>) {
    this.current = e.detail.id;
    this.focusAfter = 'thread';
  }

  /** The panel when its elements could not be loaded: what happened, and a way to try again. */
  private failedPanel(launcher: boolean) {
    const t = this.i18n;
    return this.frame(
      launcher,
      'failed',
      html`<header part="header">
        <h2>${t.t('messages')}</h2>
        ${launcher ? iconButton(t.t('closeChat'), 'close', this.close) : nothing}
      </header>
      <div class="load-failed" role="alert">
        <p>${t.t('panelFailed')}</p>
        <button type="button" class="try" @click=${this.tryAgain}>${t.t('tryAgain')}</button>
      </div>`,
    );
  }

  private panel(launcher: boolean) {
    const t = this.i18n;
    const cc = this.cc;
    const conv = cc.conversations.find((c) => c.id === this.current);
    const title = conv ? titleOf(conv, cc.me) : '';
    const close = launcher ? iconButton(t.t('closeChat'), 'close', this.close) : nothing;
    return this.frame(
      launcher,
      this.current === undefined ? 'list-view' : 'thread-view',
      html`<header class="lh" part="header">
        <h2>${t.t('messages')}</h2>
        ${iconButton(t.t('newConversation'), 'plus', () => this.list?.compose())}
        ${close}
      </header>
      <header class="th" part="header">
        ${iconButton(t.t('back'), 'back', this.back, 'ib back')}
        ${conv ? avatar(title) : nothing}
        <div class="who">
          <h2>${title}</h2>
          ${conv?.kind === 2 ? html`<p>${t.t('members', { n: conv.members.length })}</p>` : nothing}
        </div>
        ${close}
      </header>
      <synkey-banner part="banner" .i18n=${t} .state=${cc.state} ?memory=${cc.memory}></synkey-banner>
      <synkey-conversation-list
        part="list"
        .i18n=${t}
        .client=${this.activeClient}
        .conversations=${cc.conversations}
        .me=${cc.me}
        .current=${this.current}
        ?loaded=${cc.loaded}
      ></synkey-conversation-list>
      ${
        this.current === undefined
          ? html`<div class="pick">${t.t('pickConversation')}</div>`
          : html`<synkey-thread
            part="thread"
            exportparts="log, bubble, bubble-mine, bubble-theirs, new-messages, composer, viewer"
            .i18n=${t}
            .maxVoiceMs=${Math.min(300, Math.max(1, this.maxVoice || 60)) * 1000}
            .client=${this.activeClient}
            .conv=${conv}
            .convId=${this.current}
            .me=${cc.me}
            ?active=${!launcher || this.opened}
          ></synkey-thread>`
      }`,
    );
  }

  override updated(): void {
    const total = this.total();
    if (this.cc.loaded && total !== this.unread) {
      this.unread = total;
      this.dispatchEvent(new CustomEvent('synkey-unread', { detail: total, bubbles: true, composed: true }));
    }
    this.openPeer();
    const to = this.focusAfter;
    // Focus goes into the panel once it shows (its elements may still be loading).
    if (to !== 'launcher' && !this.renderRoot.querySelector('#panel')) return;
    this.focusAfter = undefined;
    const root = this.renderRoot;
    const tryAgain = root.querySelector<HTMLElement>('.try');
    if (tryAgain && to !== 'launcher') {
      tryAgain.focus();
      return;
    }
    if (to === 'launcher') root.querySelector<HTMLElement>('.launcher')?.focus();
    else if (to === 'thread')
      root.querySelector<SynkeyThread>('synkey-thread')?.updateComplete.then((ok) => ok && this.thread?.focus());
    else if (to === 'list') this.list?.updateComplete.then(() => this.list?.focus());
  }

  private tryAgain() {
    this.loadFailed = false;
    this.focusAfter = 'list';
  }

  private prefetch() {
    void this.prepare();
  }

  private get list() {
    return this.renderRoot.querySelector<SynkeyConversationList>('synkey-conversation-list');
  }

  private get thread() {
    return this.renderRoot.querySelector<SynkeyThread>('synkey-thread');
  }

  private total(): number {
    return this.cc.conversations.reduce((n, c) => n + c.unread, 0);
  }

  /** Opens the direct conversation with `peer`: the one the client knows, else one the server makes (or finds). */
  private openPeer() {
    const c = this.activeClient;
    const peer = this.peer;
    if (!c || !peer || peer === this.peerDone) return;
    // Already known here (also offline, e.g. after a reload): open it without asking the server.
    const known = this.cc.conversations.find((conv) => conv.kind === 1 && conv.members.some((m) => m.user === peer));
    if (known) {
      this.peerDone = peer;
      this.current = known.id;
      return;
    }
    // Ask the server (it makes the conversation, or finds it) once the local list is read, one request at a time.
    if (!this.cc.loaded || this.peerAsking === peer) return;
    this.peerAsking = peer;
    c.createConversation({ kind: 1, members: [peer] })
      .then(
        (conv) => {
          if (this.peer !== peer || this.peerDone === peer) return;
          this.peerDone = peer;
          this.current = conv.id;
        },
        () => undefined,
      )
      .finally(() => {
        if (this.peerAsking === peer) this.peerAsking = undefined;
      });
  }

  private back() {
    const from = this.current;
    this.current = undefined;
    this.updateComplete.then(() =>
      this.list?.updateComplete.then(() =>
        this.list?.shadowRoot?.querySelector<HTMLElement>(`[data-conv="${from}"]`)?.focus(),
      ),
    );
  }

  private keydown(e: KeyboardEvent) {
    if (e.key === 'Escape' && this.mode !== 'inline') {
      e.preventDefault();
      this.close();
    }
  }
}
