import { css, html, LitElement, nothing, type PropertyValues } from 'lit';
import { live } from 'lit/directives/live.js';
import type { I18n } from './i18n';
import { icon, iconButton } from './icons';
import { clock, IMAGE_TYPES } from './model';
import { RecordControl, type Voice } from './record-control';
import { base } from './styles';

/** Longest message text (the protocol's limit). */
const MAX_TEXT = 8000;
/** Largest image, MB (the protocol's limit). */
const MAX_IMAGE_MB = 20;

/** An image waiting in the composer to be sent, with its preview. */
interface Staged {
  file: File;
  url: string;
}

/** What `synkey-send` carries: the text, and the images to send (the text then is the last one's caption). */
export interface Outgoing {
  text: string;
  files: File[];
}

/** The message for a failed `recordVoice` (a RecorderError): the microphone was refused, or cannot be used. */
const micError = (e: unknown, i: I18n) =>
  i.t((e as { code?: string } | undefined)?.code === 'PERMISSION_DENIED' ? 'micDenied' : 'micUnavailable');

/** Whether this page can record (MediaRecorder and a secure context's getUserMedia). */
const canRecord = () => typeof MediaRecorder !== 'undefined' && !!navigator.mediaDevices?.getUserMedia;

/**
 * `<synkey-composer>`: the message box. Enter sends and Shift+Enter starts a new line (on touch
 * screens Enter always starts a new line and the button sends); Enter that confirms an IME
 * composition never sends. Images chosen with the attach button, pasted, or handed over with
 * {@link stage} (dropped on the thread) wait above the box until sent. With the box empty the button
 * records a voice note (see {@link RecordControl}). Fires `synkey-send` with {@link Outgoing} and
 * `synkey-voice` with a recording.
 */
export class SynkeyComposer extends LitElement {
  static override properties = {
    i18n: { attribute: false },
    maxVoiceMs: { attribute: false },
    value: { state: true },
    files: { state: true },
    error: { state: true },
  };
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
      .send.mic {
        touch-action: none;
        user-select: none;
        -webkit-user-select: none;
        -webkit-touch-callout: none;
      }
      .send.mic .icon {
        margin: 0;
      }
      .ib {
        margin-bottom: 2px;
      }
      .rec {
        display: flex;
        align-items: center;
        flex: 1;
        min-width: 0;
        gap: 8px;
        height: 40px;
        padding: 0 14px;
        border-radius: 20px;
        background: var(--_surface);
        font-variant-numeric: tabular-nums;
      }
      .dot {
        flex: none;
        width: 10px;
        height: 10px;
        border-radius: 50%;
        background: var(--_danger);
        animation: blink 1s ease-in-out infinite alternate;
      }
      @keyframes blink {
        to {
          opacity: 0.25;
        }
      }
      .hint {
        flex: 1;
        min-width: 0;
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
        text-align: end;
        font-size: 12.5px;
        color: var(--_muted);
      }
      .away .hint {
        color: var(--_danger);
      }
      .tray {
        display: flex;
        gap: 10px;
        margin: 0;
        padding: 10px 12px 0;
        list-style: none;
        overflow-x: auto;
      }
      .tray li {
        position: relative;
        flex: none;
      }
      .tray img {
        display: block;
        width: 60px;
        height: 60px;
        border-radius: 10px;
        object-fit: cover;
        background: var(--_surface);
      }
      .tray button {
        position: absolute;
        top: 2px;
        right: 2px;
        display: grid;
        place-items: center;
        width: 22px;
        height: 22px;
        border-radius: 50%;
        background: rgb(0 0 0 / 0.6);
        color: #fff;
      }
      .tray .icon {
        width: 14px;
        height: 14px;
        stroke-width: 2.6;
      }
      .err {
        margin: 0;
        padding: 8px 14px 0;
        font-size: 12.5px;
        color: var(--_danger);
      }
    `,
  ];

  declare i18n: I18n;
  /** Longest voice note, ms (default 60 s). */
  declare maxVoiceMs: number;
  declare value: string;
  declare files: Staged[];
  /** A problem to show above the box (a refused file, the microphone). */
  declare error: string;
  private composedAt = 0;
  private readonly rec = new RecordControl(this, {
    done: (v: Voice) => this.emit('synkey-voice', v),
    failed: (e) => {
      this.error = micError(e, this.i18n);
    },
  });

  constructor() {
    super();
    this.value = this.error = '';
    this.files = [];
    this.maxVoiceMs = 60_000;
  }

  /** Adds images to send; files of other types or too large are refused with a message. */
  stage(list: Iterable<File>): void {
    const t = this.i18n;
    const ok: Staged[] = [];
    let error = '';
    for (const file of list) {
      if (!IMAGE_TYPES.includes(file.type)) error = t.t('badType');
      else if (file.size > MAX_IMAGE_MB * 1024 * 1024) error = t.t('tooLarge', { name: file.name, max: MAX_IMAGE_MB });
      else ok.push({ file, url: URL.createObjectURL(file) });
    }
    this.files = [...this.files, ...ok];
    this.error = error;
    this.focus();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.unstage();
  }

  override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('maxVoiceMs')) this.rec.maxMs = this.maxVoiceMs;
  }

  override focus(): void {
    this.updateComplete.then(() => this.renderRoot.querySelector('textarea')?.focus());
  }

  override render() {
    const t = this.i18n;
    const r = this.rec;
    const mode = r.active ? 'rec' : this.value.trim() || this.files.length || !canRecord() ? 'send' : 'mic';
    return html`${this.error ? html`<p class="err" role="alert">${this.error}</p>` : nothing}
      ${
        this.files.length
          ? html`<ul class="tray">
            ${this.files.map(
              (f) => html`<li>
                <img src=${f.url} alt=${f.file.name} />
                <button type="button" aria-label=${t.t('removeFile', { name: f.file.name })} @click=${() => this.unstage(f)}>
                  ${icon('close')}
                </button>
              </li>`,
            )}
          </ul>`
          : nothing
      }
      <form @submit=${this.submit} @keydown=${this.escape}>
        ${
          r.active
            ? html`${iconButton(t.t('cancelRecording'), 'trash', () => r.cancel())}
              <div class="rec ${r.away ? 'away' : ''}" role="timer" aria-label=${t.t('recording')}>
                <span class="dot"></span><span>${clock(Math.floor(r.elapsed / 1000) * 1000)}</span>
                <span class="hint">${r.held ? t.t(r.away ? 'releaseCancel' : 'slideCancel') : ''}</span>
              </div>`
            : html`${iconButton(t.t('attach'), 'image', () => this.renderRoot.querySelector('input')?.click())}
              <input type="file" hidden multiple accept=${IMAGE_TYPES.join(',')} @change=${this.picked} />
              <textarea
                rows="1"
                maxlength=${MAX_TEXT}
                enterkeyhint="send"
                aria-label=${t.t('message')}
                placeholder=${t.t('placeholder')}
                .value=${live(this.value)}
                @input=${this.input}
                @keydown=${this.key}
                @paste=${this.paste}
                @compositionend=${() => {
                  this.composedAt = Date.now();
                }}
              ></textarea>`
        }
        <button
          class="send ${mode === 'send' ? '' : 'mic'}"
          type=${mode === 'send' ? 'submit' : 'button'}
          aria-label=${t.t(mode === 'send' ? 'send' : mode === 'mic' ? 'record' : 'sendVoice')}
          title=${t.t(mode === 'send' ? 'send' : mode === 'mic' ? 'recordHint' : 'sendVoice')}
          ?disabled=${mode === 'send' && !this.value.trim() && !this.files.length}
          @pointerdown=${(e: PointerEvent) => mode !== 'send' && r.press(e)}
          @pointermove=${r.move}
          @pointerup=${r.release}
          @pointercancel=${r.release}
          @contextmenu=${(e: Event) => mode !== 'send' && e.preventDefault()}
          @click=${(e: MouseEvent) => {
            // Pointer presses are handled above; a keyboard (or assistive technology) click has detail 0.
            if (mode !== 'send' && e.detail === 0) void (r.active ? r.finish() : r.start());
          }}
        >
          ${icon(mode === 'mic' ? 'mic' : 'send')}
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
    this.error = '';
  }

  private picked(e: Event) {
    const input = e.target as HTMLInputElement;
    this.stage(input.files ?? []);
    input.value = '';
  }

  /** A pasted image (a screenshot, a copied picture) is staged; pasted text stays text. */
  private paste(e: ClipboardEvent) {
    const data = e.clipboardData;
    if (!data?.files.length || data.types.includes('text/plain')) return;
    e.preventDefault();
    this.stage(data.files);
  }

  /** Esc while recording cancels it (and does not close the chat). */
  private escape(e: KeyboardEvent) {
    if (e.key !== 'Escape' || !this.rec.active) return;
    e.preventDefault();
    e.stopPropagation();
    this.rec.cancel();
  }

  /** Drops staged images: `one`, or all of them. */
  private unstage(one?: Staged) {
    for (const f of this.files) if (!one || f === one) URL.revokeObjectURL(f.url);
    this.files = one ? this.files.filter((f) => f !== one) : [];
    if (one) this.focus();
  }

  private emit(type: string, detail: unknown) {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
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
    const files = this.files.map((f) => f.file);
    if (!text.trim() && !files.length) return;
    this.value = this.error = '';
    this.unstage();
    this.emit('synkey-send', { text, files } satisfies Outgoing);
  }
}
