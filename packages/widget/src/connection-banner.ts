import type { ClientState } from '@synkey/sdk';
import { css, html, LitElement, nothing, type PropertyValues } from 'lit';
import type { I18n, Key } from './i18n';
import { base } from './styles';

const BACK_MS = 2500;
const up = (s: ClientState) => s === 'online' || s === 'degraded';

/**
 * `<synkey-banner>`: one line about the connection when it matters — connecting, reconnecting,
 * offline, back online (briefly), or that nothing is kept after the page closes (memory-only storage).
 * Sending still works in every state: the engine queues messages, and the banner says so.
 */
export class SynkeyBanner extends LitElement {
  static override properties = {
    i18n: { attribute: false },
    state: { attribute: false },
    memory: { type: Boolean },
    back: { state: true },
  };
  static override styles = [
    base,
    css`
      :host {
        font-size: 12.5px;
        line-height: 1.35;
      }
      p {
        margin: 0;
        display: flex;
        align-items: center;
        gap: 8px;
        padding: 7px 14px;
        border-bottom: 1px solid var(--_border);
        background: var(--_surface);
        color: var(--_muted);
        animation: slide 0.2s ease-out;
      }
      p::before {
        content: '';
        flex: none;
        width: 8px;
        height: 8px;
        border-radius: 50%;
        background: currentColor;
      }
      .warn {
        background: color-mix(in srgb, #f59e0b 16%, var(--_bg));
        color: color-mix(in srgb, #b45309 60%, var(--_fg));
      }
      .ok {
        background: color-mix(in srgb, #10b981 16%, var(--_bg));
        color: color-mix(in srgb, #047857 60%, var(--_fg));
      }
      .wait {
        animation: slide 0.2s 1.5s ease-out both;
      }
      .warn::before,
      .wait::before {
        animation: pulse 1.2s ease-in-out infinite;
      }
      @keyframes slide {
        from {
          opacity: 0;
          transform: translateY(-4px);
        }
      }
      @keyframes pulse {
        50% {
          opacity: 0.3;
        }
      }
    `,
  ];

  declare i18n: I18n;
  declare state: ClientState;
  declare memory: boolean;
  declare back: boolean;
  private wasUp = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly onNet = () => this.requestUpdate();

  constructor() {
    super();
    this.state = 'connecting';
    this.memory = this.back = false;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    addEventListener('online', this.onNet);
    addEventListener('offline', this.onNet);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    removeEventListener('online', this.onNet);
    removeEventListener('offline', this.onNet);
    clearTimeout(this.timer);
  }

  override willUpdate(changed: PropertyValues<this>): void {
    if (!changed.has('state')) return;
    const was = changed.get('state') as ClientState | undefined;
    if (up(this.state)) {
      if (this.wasUp && was !== undefined && !up(was)) {
        this.back = true;
        clearTimeout(this.timer);
        this.timer = setTimeout(() => {
          this.back = false;
        }, BACK_MS);
      }
      this.wasUp = true;
    } else this.back = false;
  }

  override render() {
    let key: Key | undefined;
    let cls = 'warn';
    if (!up(this.state)) {
      if (!navigator.onLine) key = 'offline';
      else if (this.wasUp) key = 'reconnecting';
      else [key, cls] = ['connecting', 'wait'];
    } else if (this.back) [key, cls] = ['backOnline', 'ok'];
    else if (this.memory) [key, cls] = ['memoryOnly', ''];
    return html`<div role="status">${key ? html`<p class=${cls} data-kind=${key}>${this.i18n.t(key)}</p>` : nothing}</div>`;
  }
}
