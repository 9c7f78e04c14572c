import type { ChatMessage, Conversation, SynkeyClient } from '@synkey/sdk';
import { css, html, LitElement, nothing, type PropertyValues } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import type { Outgoing, SynkeyComposer } from './composer';
import { type I18n, sameDay } from './i18n';
import { icon } from './icons';
import { ImageViewer, viewerStyles } from './image-viewer';
import { mediaStyles } from './media-bubble';
import { MediaUrls } from './media-urls';
import { type BubbleActions, bubbleStyles, dayRow, estimate, messageRow, type ThreadRow } from './message-bubble';
import { isMine, keyOf, previewOf, titleOf } from './model';
import type { Voice } from './record-control';
import { base } from './styles';
import { ThreadController } from './thread-controller';
import { VirtualWindow } from './virtual-list';
import { VoicePlayer } from './voice-player';

/** Messages of one sender closer together than this form one group. */
const GROUP_MS = 5 * 60_000;

/**
 * `<synkey-thread>`: one conversation — the message log (windowed: only the bubbles near the
 * viewport are in the DOM), the "new messages" pill, and the composer. Loads older history when
 * scrolled to the top without moving the view, stays at the newest message unless the user
 * scrolled away, and marks the conversation read while its newest messages are on screen.
 * Images dropped anywhere on it go to the composer; it sends images and voice notes, shows
 * pictures full size and plays voice notes (one at a time).
 */
export class SynkeyThread extends LitElement {
  static override properties = {
    i18n: { attribute: false },
    client: { attribute: false },
    conv: { attribute: false },
    convId: { type: Number },
    me: {},
    active: { type: Boolean },
    maxVoiceMs: { type: Number },
    unseen: { state: true },
    said: { state: true },
    dropping: { state: true },
  };
  static override styles = [
    base,
    bubbleStyles,
    mediaStyles,
    viewerStyles,
    css`
      :host {
        position: relative;
        display: flex;
        flex-direction: column;
        min-height: 0;
        background: var(--_surface);
      }
      .drop {
        position: absolute;
        inset: 6px;
        z-index: 2;
        display: grid;
        place-items: center;
        border: 2px dashed var(--_accent);
        border-radius: 14px;
        background: color-mix(in srgb, var(--_bg) 85%, transparent);
        color: var(--_tint);
        font-weight: 600;
        pointer-events: none;
      }
      .stage {
        position: relative;
        display: flex;
        flex: 1;
        min-height: 0;
      }
      .log {
        position: relative;
        display: flex;
        flex-direction: column;
        flex: 1;
        overflow: hidden auto;
        overscroll-behavior: contain;
        overflow-anchor: none;
        padding-bottom: 10px;
      }
      .log > * {
        flex: none;
      }
      .log > .fill {
        flex: 1 0 0;
      }
      .log:focus-visible {
        outline-offset: -2px;
      }
      .top {
        display: flex;
        align-items: center;
        justify-content: center;
        gap: 8px;
        height: 36px;
        font-size: 12px;
        color: var(--_muted);
      }
      .spin {
        width: 14px;
        height: 14px;
        border: 2px solid currentColor;
        border-right-color: transparent;
        border-radius: 50%;
        animation: spin 0.8s linear infinite;
      }
      .empty {
        position: absolute;
        inset: 0;
        display: grid;
        place-items: center;
        margin: 0;
        padding: 24px;
        text-align: center;
        color: var(--_muted);
        pointer-events: none;
      }
      .pill {
        position: absolute;
        bottom: 12px;
        left: 50%;
        display: inline-flex;
        align-items: center;
        gap: 6px;
        padding: 7px 12px 7px 10px;
        border-radius: 999px;
        background: var(--_bg);
        color: var(--_accent);
        font-size: 13px;
        font-weight: 600;
        box-shadow:
          0 4px 14px rgb(0 0 0 / 0.14),
          0 0 0 1px var(--_border);
        transform: translateX(-50%);
        animation: pop 0.18s ease-out;
      }
      .pill .icon {
        width: 16px;
        height: 16px;
      }
      .count {
        min-width: 18px;
        padding: 0 5px;
        border-radius: 9px;
        background: var(--_accent);
        color: var(--_on-accent);
        font-size: 11px;
        line-height: 18px;
        text-align: center;
      }
      @keyframes pop {
        from {
          opacity: 0;
          transform: translate(-50%, 6px);
        }
      }
    `,
  ];

  declare i18n: I18n;
  declare client: SynkeyClient | undefined;
  declare conv: Conversation | undefined;
  declare convId: number;
  declare me: string | undefined;
  /** The thread is on screen (the panel is open): only then is it marked read. */
  declare active: boolean;
  /** Longest voice note, ms. */
  declare maxVoiceMs: number;
  declare unseen: number;
  declare said: string;
  /** Files are being dragged over the thread. */
  declare dropping: boolean;
  private drags = 0;
  private readonly tc = new ThreadController(this);
  private readonly win = new VirtualWindow<ThreadRow>(this, {
    scroller: () => this.renderRoot.querySelector<HTMLElement>('.log'),
    estimate,
    nearTop: () => void this.tc.loadOlder(),
    pinnable: (r) => r.m !== undefined,
  });
  private shown: readonly ChatMessage[] | undefined;
  private group = false;
  private reading = false;
  private readonly onVisible = () => this.requestUpdate();
  private readonly urls = new MediaUrls(this, () => this.renderRoot.querySelector<HTMLElement>('.log'));
  private readonly player = new VoicePlayer(this);
  private readonly viewer = new ImageViewer(this, (m) => this.urls.full(m));
  private readonly actions: BubbleActions = {
    retry: (cmid) => this.act(this.client?.retry(cmid)),
    remove: (cmid) => this.act(this.client?.remove(cmid)),
    src: (m) => this.urls.src(m),
    broken: (m) => this.urls.broken(m),
    view: (m, opener) => this.viewer.open(m, opener, this.urls.src(m)),
    play: (m, key) => void this.player.toggle(key, () => this.urls.full(m)).catch(() => undefined),
    seek: (key, ms) => this.player.seek(key, ms),
    voice: this.player,
  };

  constructor() {
    super();
    this.convId = 0;
    this.unseen = 0;
    this.said = '';
    this.active = this.dropping = false;
    this.maxVoiceMs = 60_000;
    for (const type of ['dragenter', 'dragover', 'dragleave', 'drop'])
      this.addEventListener(type, this.drag as EventListener);
    this.tc.onAdded = (added) => {
      const theirs = added.filter((m) => !isMine(m, this.me));
      const m = theirs.at(-1);
      if (!m) return;
      this.said = this.i18n.t('newMessageFrom', { name: m.sender, text: previewOf(m, this.i18n) });
      if (!this.win.atBottom) this.unseen += theirs.length;
    };
  }

  /** Focuses the message box. */
  override focus(): void {
    this.composer?.focus();
  }

  override connectedCallback(): void {
    super.connectedCallback();
    document.addEventListener('visibilitychange', this.onVisible);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    document.removeEventListener('visibilitychange', this.onVisible);
  }

  override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('client') || changed.has('convId')) {
      this.urls.client = this.client;
      this.tc.use(this.client, this.convId, this.conv?.lastSeq ?? 0);
      this.unseen = 0;
      this.said = '';
      this.win.toBottom();
    }
    if (changed.has('i18n')) this.win.remeasure();
    const group = this.conv?.kind === 2;
    if (this.tc.list !== this.shown || changed.has('i18n') || changed.has('me') || group !== this.group) {
      this.shown = this.tc.list;
      this.group = group;
      this.win.setRows(this.rows());
    }
    if (this.win.atBottom) this.unseen = 0;
  }

  override render() {
    const t = this.i18n;
    const tc = this.tc;
    return html`<div class="stage">
        <div
          class="log"
          part="log"
          role="log"
          aria-live="off"
          aria-label=${t.t('threadWith', { name: titleOf(this.conv, this.me) })}
          tabindex="0"
        >
          <div class="fill"></div>
          <div class="top">
            ${
              tc.loadingOlder
                ? html`<span class="spin"></span>${t.t('loadingOlder')}`
                : tc.loaded && !tc.hasMore && tc.list.length > 0
                  ? t.t('historyStart')
                  : nothing
            }
          </div>
          <div class="pad"></div>
          ${repeat(
            this.win.visible(),
            (r) => r.key,
            (r) => (r.day !== undefined ? dayRow(r) : messageRow(r, t, this.actions)),
          )}
          <div class="pad"></div>
          ${tc.loaded && tc.list.length === 0 ? html`<p class="empty">${t.t('noMessages')}</p>` : nothing}
        </div>
        ${
          this.unseen > 0
            ? html`<button class="pill" type="button" part="new-messages" @click=${this.toBottom}>
              ${icon('down')}${t.t('newMessages')}<span class="count">${this.unseen}</span>
            </button>`
            : nothing
        }
      </div>
      <div class="sr" role="status">${this.said}</div>
      <synkey-composer
        part="composer"
        .i18n=${t}
        .maxVoiceMs=${this.maxVoiceMs}
        @synkey-send=${this.send}
        @synkey-voice=${this.voice}
      ></synkey-composer>
      ${this.dropping ? html`<div class="drop">${t.t('dropHere')}</div>` : nothing}
      ${this.viewer.render(t)}`;
  }

  override updated(): void {
    this.markRead();
  }

  /** Rows: a separator per day, then messages grouped by sender. */
  private rows(): ThreadRow[] {
    const rows: ThreadRow[] = [];
    const group = this.group;
    let prev: ChatMessage | undefined;
    let caption: ThreadRow | undefined;
    const days = new Set<string>();
    for (const m of this.tc.list) {
      const mine = isMine(m, this.me);
      if (!prev || !sameDay(prev.ts, m.ts)) {
        // Keyed by the day itself, so the key survives older messages of that day arriving above.
        const d = new Date(m.ts);
        let key = `d${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
        while (days.has(key)) key += '+';
        days.add(key);
        rows.push({ key, day: this.i18n.day(m.ts) });
      }
      const above = rows[rows.length - 1] as ThreadRow;
      const first = !prev || above.day !== undefined || prev.sender !== m.sender || m.ts - prev.ts > GROUP_MS;
      if (!first) above.last = false;
      const row: ThreadRow = { key: keyOf(m), m, mine, first, last: true, name: group && !mine && first };
      rows.push(row);
      // The state caption goes under my newest message, once it is stored and nobody answered it.
      caption = mine && m.state !== 'sending' && m.state !== 'failed' ? row : undefined;
      prev = m;
    }
    if (caption) caption.caption = true;
    return rows;
  }

  private toBottom() {
    this.win.toBottom();
    this.renderRoot.querySelector<HTMLElement>('.log')?.focus();
  }

  private get composer() {
    return this.renderRoot.querySelector<SynkeyComposer>('synkey-composer');
  }

  /** Sends the text, or the images (the text as the last one's caption), in order. */
  private async send(e: CustomEvent<Outgoing>) {
    const client = this.client;
    if (!client) return;
    const { text, files } = e.detail;
    const conv = this.convId;
    let name = '';
    this.win.toBottom();
    try {
      if (files.length === 0) await client.send(conv, { text });
      for (const [n, file] of files.entries()) {
        name = file.name;
        await client.sendImage(conv, file, n === files.length - 1 && text.trim() ? { caption: text } : {});
      }
    } catch (err) {
      const c = this.composer;
      if (!c) return;
      if (!files.length && !c.value) c.value = text;
      const code = (err as { code?: string }).code;
      const t = this.i18n;
      c.error =
        code === 'UNSUPPORTED_MEDIA'
          ? t.t('badType')
          : code === 'MEDIA_TOO_LARGE'
            ? t.t('tooLarge', { name, max: 20 })
            : t.t('sendFailed');
    }
  }

  private voice(e: CustomEvent<Voice>) {
    this.win.toBottom();
    this.client?.sendVoice(this.convId, e.detail.blob, e.detail.durationMs).catch(() => {
      const c = this.composer;
      if (c) c.error = this.i18n.t('sendFailed');
    });
  }

  /** Files dragged over the thread show the drop zone; dropped, they go to the composer. */
  private drag = (e: DragEvent) => {
    const data = e.dataTransfer;
    if (!data?.types.includes('Files')) return;
    e.preventDefault();
    if (e.type === 'dragover') data.dropEffect = 'copy';
    this.drags = e.type === 'drop' ? 0 : this.drags + (e.type === 'dragenter' ? 1 : e.type === 'dragleave' ? -1 : 0);
    this.dropping = this.drags > 0;
    if (e.type === 'drop') this.composer?.stage(data.files);
  };

  /** Runs a bubble action, then puts focus back in the message box (the button is gone). */
  private act(p: Promise<void> | undefined) {
    p?.catch(() => undefined);
    this.focus();
  }

  /** Marks the conversation read while its newest messages are visible on a visible page. */
  private markRead() {
    const c = this.client;
    if (!c || !this.active || !this.tc.loaded || !this.win.atBottom || this.reading) return;
    if (document.visibilityState !== 'visible') return;
    const last = this.tc.list.findLast((m) => !isMine(m, this.me));
    if ((this.conv?.unread ?? 0) === 0 && (!last || last.state === 'read')) return;
    this.reading = true;
    c.markRead(this.convId)
      .catch(() => undefined)
      .finally(() => {
        this.reading = false;
      });
  }
}
