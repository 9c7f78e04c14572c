import type { ChatMessage } from '@synkey/sdk';
import { css, html, nothing, type ReactiveController, type ReactiveControllerHost } from 'lit';
import type { I18n } from './i18n';
import { iconButton } from './icons';
import { nameOf } from './media-bubble';

/**
 * The full-size image viewer: a modal `<dialog>` (the page behind it is inert) with the picture and
 * a close button. Esc, the button or a click beside the picture closes it; Tab stays on the close
 * button; focus goes back to the thumbnail that opened it. Shows the thumbnail until the full file loads.
 */
export class ImageViewer implements ReactiveController {
  m: ChatMessage | undefined;
  private url: string | undefined;
  private failed = false;
  private opener: HTMLElement | undefined;

  constructor(
    private readonly host: ReactiveControllerHost & { renderRoot: ParentNode },
    private readonly full: (m: ChatMessage) => Promise<string>,
  ) {
    host.addController(this);
  }

  /** Shows `m` full size, with `preview` (its thumbnail) until the file arrives. */
  open(m: ChatMessage, opener: HTMLElement, preview: string | undefined): void {
    this.m = m;
    this.url = preview;
    this.failed = false;
    this.opener = opener;
    this.host.requestUpdate();
    this.full(m).then(
      (u) => this.m === m && this.set(u, false),
      () => this.m === m && this.set(this.url, true),
    );
  }

  close(): void {
    if (!this.m) return;
    this.m = undefined;
    // Closed now, not at the next render: focus cannot go back to the page while the dialog is modal.
    this.host.renderRoot.querySelector<HTMLDialogElement>('dialog.viewer')?.close();
    this.host.requestUpdate();
    if (this.opener?.isConnected) this.opener.focus();
  }

  hostUpdated(): void {
    const d = this.host.renderRoot.querySelector<HTMLDialogElement>('dialog.viewer');
    if (d && !d.open) {
      d.showModal();
      d.querySelector('button')?.focus();
    }
  }

  hostDisconnected(): void {
    this.m = undefined;
  }

  render(i: I18n) {
    const m = this.m;
    if (!m) return nothing;
    const name = nameOf(m, i);
    return html`<dialog
      class="viewer"
      part="viewer"
      aria-label=${name}
      @cancel=${(e: Event) => {
        e.preventDefault();
        this.close();
      }}
      @keydown=${(e: KeyboardEvent) => {
        // Keys stay in the dialog: Esc must not also close the chat panel, Tab has nowhere else to go.
        e.stopPropagation();
        if (e.key === 'Tab') e.preventDefault();
      }}
      @click=${(e: Event) => e.target === e.currentTarget && this.close()}
    >
      ${this.url ? html`<img src=${this.url} alt=${name} />` : this.failed ? nothing : html`<span class="spin"></span>`}
      ${this.failed ? html`<p role="alert">${i.t('loadFailed')}</p>` : nothing}
      ${iconButton(i.t('closePhoto'), 'close', () => this.close())}
    </dialog>`;
  }

  private set(url: string | undefined, failed: boolean): void {
    this.url = url;
    this.failed = failed;
    this.host.requestUpdate();
  }
}

/** The viewer's styles. */
export const viewerStyles = css`
  .viewer {
    width: 100vw;
    height: 100vh;
    max-width: none;
    max-height: none;
    margin: 0;
    padding: 24px;
    border: 0;
    background: rgb(0 0 0 / 0.88);
    color: #fff;
    place-items: center;
  }
  .viewer[open] {
    display: grid;
  }
  .viewer::backdrop {
    background: transparent;
  }
  .viewer img {
    max-width: calc(100vw - 48px);
    max-height: calc(100vh - 48px);
    object-fit: contain;
    border-radius: 4px;
  }
  .viewer .ib {
    position: absolute;
    top: 12px;
    right: 12px;
    color: #fff;
    background: rgb(255 255 255 / 0.12);
  }
  .viewer p {
    margin: 0;
  }
`;
