import type { ChatMessage } from '@synkey/sdk';
import { css, html, nothing, type TemplateResult } from 'lit';
import { ifDefined } from 'lit/directives/if-defined.js';
import { styleMap } from 'lit/directives/style-map.js';
import type { I18n } from './i18n';
import { icon } from './icons';
import { clock, fileOf, fitBox } from './model';
import { seekBy } from './voice-player';

/** What media bubbles need from their thread. */
export interface MediaActions {
  remove(cmid: string): void;
  /** The picture to show for an image message, once there is one. */
  src(m: ChatMessage): string | undefined;
  /** The picture did not display. */
  broken(m: ChatMessage): void;
  /** Opens the full-size viewer; focus returns to `opener` when it closes. */
  view(m: ChatMessage, opener: HTMLElement): void;
  /** Plays or pauses the voice note of row `key`. */
  play(m: ChatMessage, key: string): void;
  seek(key: string, ms: number): void;
  /** The note loaded in the player, whether it plays, and a note's position in ms. */
  readonly voice: { key: string; playing: boolean; at(key: string): number };
}

/** The name to call an image by: its file name, else "Photo". */
export const nameOf = (m: ChatMessage, i: I18n): string => fileOf(m)?.name || i.t('photo');

/** My media message whose file is still uploading: a progress ring that cancels the send. */
function upload(m: ChatMessage, i: I18n, act: MediaActions): TemplateResult | undefined {
  const cmid = m.cmid;
  if (cmid === undefined || m.progress === undefined || m.state !== 'sending') return undefined;
  const n = Math.round(m.progress * 100);
  return html`<button class="ring" type="button" aria-label=${i.t('cancelUpload', { n })} title=${i.t('cancelUpload', { n })}
    @click=${() => act.remove(cmid)}>
    <svg viewBox="0 0 44 44" aria-hidden="true"><circle cx="22" cy="22" r="19" pathLength="100" stroke-dasharray="${n} 100"></circle></svg>
    ${icon('close')}
  </button>`;
}

/**
 * An image bubble's content: the picture in a box of its aspect ratio (reserved before it loads),
 * the upload ring while sending, the caption (text only) or the time over the picture.
 */
export function imageBody(m: ChatMessage, i: I18n, act: MediaActions, meta: TemplateResult) {
  const f = fileOf(m);
  const box = fitBox(f?.width, f?.height);
  const src = act.src(m);
  return html`<div class="frame" style=${styleMap({ width: `${box.w}px`, aspectRatio: `${box.w} / ${box.h}` })}>
      <button
        class="open"
        type="button"
        aria-label=${i.t('viewPhoto', { name: nameOf(m, i) })}
        data-media=${ifDefined(src ? undefined : m.media?.id)}
        @click=${(e: Event) => act.view(m, e.currentTarget as HTMLElement)}
      >
        ${src ? html`<img src=${src} alt="" draggable="false" @error=${() => act.broken(m)} />` : icon('image')}
      </button>
      ${upload(m, i, act) ?? nothing}
    </div>
    ${m.text ? html`<div class="cap"><span class="text">${m.text}</span>${meta}</div>` : meta}`;
}

/** A voice bubble's content: play/pause (or the upload ring), a seekable position bar, position and length. */
export function voiceBody(m: ChatMessage, key: string, i: I18n, act: MediaActions, meta: TemplateResult) {
  const dur = fileOf(m)?.durationMs ?? 0;
  const v = act.voice;
  const on = v.key === key;
  const pos = v.at(key);
  const playing = on && v.playing;
  const seek = (ms: number) => act.seek(key, Math.round(ms));
  return html`<div class="vn">
    ${
      upload(m, i, act) ??
      html`<button class="play" type="button" aria-label=${i.t(playing ? 'pause' : 'play')} @click=${() => act.play(m, key)}>
        ${icon(playing ? 'pause' : 'play', playing ? '' : 'fill')}
      </button>`
    }
    <div class="track">
      <div
        class="bar"
        role="slider"
        tabindex="0"
        aria-label=${i.t('position')}
        aria-valuemin="0"
        aria-valuemax=${dur}
        aria-valuenow=${Math.round(pos)}
        aria-valuetext=${i.t('positionOf', { a: clock(pos), b: clock(dur) })}
        @click=${(e: MouseEvent) => {
          const b = (e.currentTarget as HTMLElement).getBoundingClientRect();
          seek(dur * Math.max(0, Math.min(1, (e.clientX - b.left) / b.width)));
        }}
        @keydown=${(e: KeyboardEvent) => {
          const to = seekBy(e.key, pos, dur);
          if (to === undefined) return;
          e.preventDefault();
          seek(to);
        }}
      >
        <span style=${styleMap({ width: `${dur ? Math.min(100, (pos / dur) * 100) : 0}%` })}></span>
      </div>
      <div class="foot">
        <span class="dur">${on && (pos > 0 || playing) ? `${clock(pos)} / ${clock(dur)}` : clock(dur)}</span>${meta}
      </div>
    </div>
  </div>`;
}

/** The styles of image and voice bubbles. */
export const mediaStyles = css`
  .bubble.pic {
    position: relative;
    padding: 3px;
  }
  .pic .name {
    padding: 2px 9px 3px;
  }
  .frame {
    position: relative;
    max-width: 100%;
    border-radius: 15px;
    overflow: hidden;
    background: color-mix(in srgb, var(--_muted) 18%, transparent);
  }
  .open {
    display: grid;
    place-items: center;
    width: 100%;
    height: 100%;
    color: var(--_muted);
  }
  .open:focus-visible {
    outline-offset: -3px;
  }
  .open img {
    width: 100%;
    height: 100%;
    object-fit: cover;
  }
  .cap {
    padding: 3px 7px 3px 9px;
  }
  .pic > .meta {
    position: absolute;
    right: 9px;
    bottom: 9px;
    margin: 0;
    padding: 3px 6px;
    border-radius: 10px;
    background: rgb(0 0 0 / 0.45);
    color: #fff;
  }
  .ring {
    position: relative;
    display: grid;
    place-items: center;
    flex: none;
    width: 44px;
    height: 44px;
    border-radius: 50%;
    background: rgb(0 0 0 / 0.45);
    color: #fff;
  }
  .frame .ring {
    position: absolute;
    inset: 0;
    margin: auto;
  }
  .ring svg {
    position: absolute;
    inset: 0;
    transform: rotate(-90deg);
    fill: none;
    stroke: currentColor;
    stroke-width: 2.5;
    stroke-linecap: round;
  }
  .icon.fill {
    fill: currentColor;
  }
  .vn {
    display: flex;
    align-items: center;
    gap: 10px;
    width: 220px;
    max-width: 100%;
  }
  .play {
    display: grid;
    place-items: center;
    flex: none;
    width: 40px;
    height: 40px;
    border-radius: 50%;
    background: var(--_accent);
    color: var(--_on-accent);
  }
  .mine .play {
    background: var(--_on-accent);
    color: var(--_accent);
  }
  .track {
    flex: 1;
    min-width: 0;
  }
  .bar {
    position: relative;
    height: 18px;
    border-radius: 4px;
    color: var(--_accent);
    cursor: pointer;
  }
  .mine .bar {
    color: var(--_on-accent);
  }
  .bar::before,
  .bar span {
    content: '';
    position: absolute;
    left: 0;
    top: 7px;
    height: 4px;
    border-radius: 2px;
    background: currentColor;
  }
  .bar::before {
    right: 0;
    opacity: 0.3;
  }
  .bar span::after {
    content: '';
    position: absolute;
    right: -5px;
    top: -3px;
    width: 10px;
    height: 10px;
    border-radius: 50%;
    background: currentColor;
  }
  .foot {
    display: flex;
    align-items: center;
    justify-content: space-between;
    font-size: 11.5px;
    font-variant-numeric: tabular-nums;
    color: var(--_muted);
  }
  .mine .foot {
    color: color-mix(in srgb, var(--_on-accent) 95%, transparent);
  }
  .foot .meta {
    float: none;
    margin: 0 0 0 8px;
  }
`;
