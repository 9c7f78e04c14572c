import { css, html, LitElement } from 'lit';
import { live } from 'lit/directives/live.js';
import type { I18n } from './i18n';
import { icon } from './icons';
import { base } from './styles';

/** Longest message text (the protocol's limit). */
const MAX_TEXT = 8000;

/**
 * `<synkey-composer>`: the message box. Enter sends and Shift+Enter starts a new line (on touch
 * screens Enter always starts a new line and the button sends); Enter that confirms an IME
 * composition never sends. Fires `synkey-send` with `{ text }`.
 */
export class SynkeyComposer extends LitElement {
  static override properties = { i18n: { attribute: false }, value: { state: true } };
  static override styles = [
    base,
    css`
      :host {
        flex: none;
        background: var(--_bg);
        border-top: 1px solid var(--_border);
      }
      form {
        display: flex;
        align-items: flex-end;
        gap: 8px;
        padding: 8px 8px 8px 12px;
      }
      textarea {
        flex: 1;
        min-width: 0;
        height: 40px;
        max-height: 132px;
        padding: 9px 14px;
        border: 1px solid var(--_border);
        border-radius: 20px;
        background: var(--_surface);
        font-size: 14.5px;
        line-height: 20px;
        resize: none;
        overflow-y: auto;
        outline: none;
        transition: border-color 0.15s, box-shadow 0.15s;
      }
      textarea::placeholder {
        color: var(--_muted);
        opacity: 1;
      }
      textarea:focus-visible {
        outline: none;
        border-color: var(--_accent);
        box-shadow: 0 0 0 3px color-mix(in srgb, var(--_accent) 22%, transparent);
      }
      .send {
        display: grid;
        place-items: center;
        flex: none;
        width: 40px;
        height: 40px;
        border-radius: 50%;
        background: var(--_accent);
        color: var(--_on-accent);
        transition: opacity 0.15s, transform 0.15s;
      }
      .send:disabled {
        opacity: 0.4;
      }
      .send:not(:disabled):active {
        transform: scale(0.92);
      }
      .send .icon {
        width: 19px;
        height: 19px;
        margin: 1px 2px 0 0;
      }
    `,
  ];

  declare i18n: I18n;
  declare value: string;
  private composedAt = 0;

  constructor() {
    super();
    this.value = '';
  }

  override focus(): void {
    this.updateComplete.then(() => this.renderRoot.querySelector('textarea')?.focus());
  }

  override render() {
    const t = this.i18n;
    return html`<form @submit=${this.submit}>
      <textarea
        rows="1"
        maxlength=${MAX_TEXT}
        enterkeyhint="send"
        aria-label=${t.t('message')}
        placeholder=${t.t('placeholder')}
        .value=${live(this.value)}
        @input=${this.input}
        @keydown=${this.key}
        @compositionend=${() => {
          this.composedAt = Date.now();
        }}
      ></textarea>
      <button class="send" type="submit" aria-label=${t.t('send')} title=${t.t('send')} ?disabled=${!this.value.trim()}>
        ${icon('send')}
      </button>
    </form>`;
  }

  override updated(): void {
    const box = this.renderRoot.querySelector('textarea');
    if (!box) return;
    box.style.height = '';
    if (box.scrollHeight > box.clientHeight) box.style.height = `${Math.min(box.scrollHeight + 2, 132)}px`;
  }

  private input(e: Event) {
    this.value = (e.target as HTMLTextAreaElement).value;
  }

  private key(e: KeyboardEvent) {
    if (e.key !== 'Enter' || e.shiftKey || e.altKey) return;
    // An IME composition being confirmed (Safari reports it with keyCode 229 right after compositionend).
    if (e.isComposing || e.keyCode === 229 || Date.now() - this.composedAt < 50) return;
    if (matchMedia('(pointer: coarse)').matches) return;
    e.preventDefault();
    this.submit(e);
  }

  private submit(e: Event) {
    e.preventDefault();
    const text = this.value;
    if (!text.trim()) return;
    this.value = '';
    this.dispatchEvent(new CustomEvent('synkey-send', { detail: { text }, bubbles: true, composed: true }));
  }
}
