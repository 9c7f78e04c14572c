import type { Conversation, SynkeyClient } from '@synkey/sdk';
import { css, html, LitElement, nothing } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import type { I18n } from './i18n';
import { avatar, icon } from './icons';
import { isMine, previewOf, titleOf } from './model';
import { base } from './styles';

/**
 * `<synkey-conversation-list>`: the conversations, newest activity first, with title, last
 * message, time and unread count; and the "new conversation" form (a user id → a direct
 * conversation). Fires `synkey-select` with `{ id }`.
 */
export class SynkeyConversationList extends LitElement {
  static override properties = {
    i18n: { attribute: false },
    client: { attribute: false },
    conversations: { attribute: false },
    me: {},
    current: { type: Number },
    loaded: { type: Boolean },
    composing: { state: true },
    error: { state: true },
    busy: { state: true },
  };
  static override styles = [
    base,
    css`
      :host {
        overflow-y: auto;
        overscroll-behavior: contain;
        background: var(--_bg);
      }
      ul {
        list-style: none;
        margin: 0;
        padding: 4px 0;
      }
      .item {
        display: flex;
        align-items: center;
        gap: 12px;
        width: 100%;
        padding: 10px 14px;
        text-align: start;
        transition: background-color 0.12s;
      }
      .item:hover {
        background: var(--_hover);
      }
      .item[aria-current='true'] {
        background: color-mix(in srgb, var(--_accent) 10%, transparent);
      }
      .item:focus-visible {
        outline-offset: -2px;
      }
      .main {
        flex: 1;
        min-width: 0;
        display: grid;
        grid-template-columns: 1fr auto;
        column-gap: 8px;
        row-gap: 2px;
        align-items: center;
      }
      .name,
      .preview {
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
      }
      .name {
        font-weight: 600;
        font-size: 14.5px;
      }
      time {
        font-size: 12px;
        color: var(--_muted);
      }
      .preview {
        color: var(--_muted);
        font-size: 13.5px;
      }
      .unread .preview {
        color: var(--_fg);
      }
      .unread time {
        color: var(--_accent);
        font-weight: 600;
      }
      .badge {
        justify-self: end;
        min-width: 20px;
        height: 20px;
        padding: 0 6px;
        border-radius: 10px;
        background: var(--_accent);
        color: var(--_on-accent);
        font-size: 11.5px;
        font-weight: 700;
        line-height: 20px;
        text-align: center;
      }
      form {
        display: grid;
        grid-template-columns: 1fr auto;
        gap: 8px;
        padding: 12px 14px;
        border-bottom: 1px solid var(--_border);
        background: var(--_surface);
      }
      label {
        grid-column: 1 / -1;
        font-size: 12.5px;
        color: var(--_muted);
      }
      input {
        min-width: 0;
        height: 36px;
        padding: 0 12px;
        border: 1px solid var(--_border);
        border-radius: 10px;
        background: var(--_bg);
        outline: none;
      }
      input:focus-visible {
        outline: none;
        border-color: var(--_accent);
        box-shadow: 0 0 0 3px color-mix(in srgb, var(--_accent) 22%, transparent);
      }
      .btn {
        height: 36px;
        padding: 0 14px;
        border-radius: 10px;
        font-weight: 600;
        background: var(--_accent);
        color: var(--_on-accent);
      }
      .btn:disabled {
        opacity: 0.6;
      }
      .btn.quiet {
        background: none;
        color: var(--_accent);
      }
      .err {
        grid-column: 1 / -1;
        margin: 0;
        font-size: 12.5px;
        color: var(--_danger);
      }
      .empty {
        display: grid;
        justify-items: center;
        gap: 6px;
        padding: 56px 24px;
        text-align: center;
        color: var(--_muted);
      }
      .empty .icon {
        width: 44px;
        height: 44px;
        stroke-width: 1.5;
        opacity: 0.6;
      }
      .empty strong {
        color: var(--_fg);
        font-size: 15px;
      }
      .empty .btn {
        margin-top: 10px;
      }
    `,
  ];

  declare i18n: I18n;
  declare client: SynkeyClient | undefined;
  declare conversations: Conversation[];
  declare me: string | undefined;
  declare current: number | undefined;
  declare loaded: boolean;
  declare composing: boolean;
  declare error: boolean;
  declare busy: boolean;

  constructor() {
    super();
    this.conversations = [];
    this.loaded = this.composing = this.error = this.busy = false;
  }

  /** Shows the "new conversation" form and focuses it. */
  async compose(): Promise<void> {
    this.composing = true;
    this.error = false;
    await this.updateComplete;
    this.renderRoot.querySelector('input')?.focus();
  }

  /** Focuses the current conversation, else the first, else the "new conversation" button. */
  override focus(): void {
    const items = [...this.renderRoot.querySelectorAll<HTMLElement>('.item, .empty .btn')];
    (items.find((b) => b.getAttribute('aria-current') === 'true') ?? items[0])?.focus();
  }

  override render() {
    const t = this.i18n;
    return html`${this.composing ? this.form() : nothing}
      ${
        this.loaded && this.conversations.length === 0 && !this.composing
          ? html`<div class="empty">
            ${icon('chat')}<strong>${t.t('noConversations')}</strong><span>${t.t('noConversationsHint')}</span>
            <button class="btn" type="button" @click=${this.compose}>${t.t('newConversation')}</button>
          </div>`
          : nothing
      }
      <ul aria-label=${t.t('conversations')} @keydown=${this.arrows}>
        ${repeat(
          this.conversations,
          (c) => c.id,
          (c) => this.item(c),
        )}
      </ul>`;
  }

  private item(c: Conversation) {
    const t = this.i18n;
    const title = titleOf(c, this.me);
    const last = c.last;
    let preview = last ? previewOf(last, t) : '';
    if (last && isMine(last, this.me)) preview = `${t.t('you')}: ${preview}`;
    else if (last && c.kind === 2) preview = `${last.sender}: ${preview}`;
    return html`<li>
      <button
        class="item ${c.unread > 0 ? 'unread' : ''}"
        type="button"
        data-conv=${c.id}
        aria-current=${this.current === c.id ? 'true' : 'false'}
        @click=${() => this.dispatchEvent(new CustomEvent('synkey-select', { detail: { id: c.id }, bubbles: true, composed: true }))}
      >
        ${avatar(title)}
        <span class="main">
          <span class="name">${title}</span>
          <time>${t.when(last?.ts ?? c.createdAt)}</time>
          <span class="preview">${preview}</span>
          ${
            c.unread > 0
              ? html`<span class="badge" aria-hidden="true">${c.unread > 99 ? '99+' : c.unread}</span
                ><span class="sr">${t.t('unread', { n: c.unread })}</span>`
              : nothing
          }
        </span>
      </button>
    </li>`;
  }

  private form() {
    const t = this.i18n;
    return html`<form @submit=${this.start} @keydown=${this.escape}>
      <label for="peer">${t.t('userIdHint')}</label>
      <input
        id="peer"
        name="peer"
        autocomplete="off"
        autocapitalize="off"
        spellcheck="false"
        maxlength="64"
        required
        placeholder=${t.t('userId')}
        aria-invalid=${this.error ? 'true' : 'false'}
        aria-describedby=${this.error ? 'err' : nothing}
      />
      <button class="btn" type="submit" ?disabled=${this.busy}>${t.t('start')}</button>
      ${this.error ? html`<p class="err" id="err" role="alert">${t.t('startFailed')}</p>` : nothing}
      <button class="btn quiet" type="button" @click=${this.cancel}>${t.t('cancel')}</button>
    </form>`;
  }

  private async start(e: Event) {
    e.preventDefault();
    const input = this.renderRoot.querySelector('input') as HTMLInputElement;
    const peer = input.value.trim();
    if (!peer || !this.client || this.busy) return;
    this.busy = true;
    this.error = false;
    try {
      const conv = await this.client.createConversation({ kind: 1, members: [peer] });
      this.composing = false;
      this.dispatchEvent(new CustomEvent('synkey-select', { detail: { id: conv.id }, bubbles: true, composed: true }));
    } catch {
      this.error = true;
      input.focus();
    } finally {
      this.busy = false;
    }
  }

  private cancel() {
    this.composing = false;
    this.error = false;
    this.updateComplete.then(() => this.focus());
  }

  private escape(e: KeyboardEvent) {
    if (e.key !== 'Escape') return;
    e.stopPropagation();
    this.cancel();
  }

  /** Up/Down/Home/End move between conversations. */
  private arrows(e: KeyboardEvent) {
    const items = [...this.renderRoot.querySelectorAll<HTMLElement>('.item')];
    const i = items.indexOf(this.shadowRoot?.activeElement as HTMLElement);
    const to = { ArrowDown: i + 1, ArrowUp: i - 1, Home: 0, End: items.length - 1 }[e.key];
    if (i < 0 || to === undefined || !items[to]) return;
    e.preventDefault();
    items[to].focus();
  }
}
