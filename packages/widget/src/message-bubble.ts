import type { ChatMessage } from '@synkey/sdk';
import { css, html, nothing, type TemplateResult } from 'lit';
import { ifDefined } from 'lit/directives/if-defined.js';
import { styleMap } from 'lit/directives/style-map.js';
import type { I18n } from './i18n';
import { colorOf, icon } from './icons';
import { imageBody, type MediaActions, voiceBody } from './media-bubble';
import { fileOf, fitBox, previewOf } from './model';
import type { Row } from './virtual-list';

/** A row of the thread: a day separator or a message. */
export interface ThreadRow extends Row {
  day?: string;
  m?: ChatMessage;
  mine?: boolean;
  /** First / last message of a run from one sender. */
  first?: boolean;
  last?: boolean;
  /** Show the sender's name (others' runs in a group). */
  name?: boolean;
  /** Show the state as a caption under the bubble (my newest message). */
  caption?: boolean;
}

/** What a bubble's buttons do. */
export interface BubbleActions extends MediaActions {
  retry(cmid: string): void;
}

/** A height guess for a row never rendered: a separator, or a bubble by its text (and picture or player). */
export function estimate(r: ThreadRow): number {
  if (r.day !== undefined) return 40;
  const m = r.m;
  const chars = m?.text?.length ?? 0;
  const lines = Math.max(1, Math.ceil(chars / 34));
  const body =
    m?.kind === 2
      ? 6 + fitBox(fileOf(m)?.width, fileOf(m)?.height).h + (chars ? 6 + lines * 20 : 0)
      : m?.kind === 3
        ? 62
        : 16 + lines * 20;
  return body + (r.first ? 8 : 2) + (r.name ? 18 : 0) + (r.caption || m?.state === 'failed' ? 18 : 0);
}

function ticks(m: ChatMessage): TemplateResult | typeof nothing {
  switch (m.state) {
    case 'sending':
      return icon('clock', 'tick wait');
    case 'sent':
      return icon('check', 'tick');
    case 'delivered':
      return icon('checks', 'tick');
    case 'read':
      return icon('checks', 'tick read');
    default:
      return nothing;
  }
}

/** A day separator row. */
export const dayRow = (r: ThreadRow): TemplateResult =>
  html`<div class="day" data-k=${r.key} role="separator"><span>${r.day}</span></div>`;

/** A message row: the bubble (text only, never HTML), its time and, on mine, its state. */
export function messageRow(r: ThreadRow, i: I18n, act: BubbleActions): TemplateResult {
  const m = r.m as ChatMessage;
  const cmid = m.cmid;
  const failed = m.state === 'failed' && cmid !== undefined;
  const label = i.t(m.state);
  const cls = `row ${r.mine ? 'mine' : 'theirs'}${r.first ? ' first' : ''}${r.last ? ' last' : ''}`;
  const meta = html`<span class="meta" title=${ifDefined(r.mine ? label : undefined)}>
    <time datetime=${new Date(m.ts).toISOString()}>${i.time(m.ts)}</time>
    ${r.mine ? html`${ticks(m)}<span class="sr">${label}</span>` : nothing}
  </span>`;
  return html`<div class=${cls} data-k=${r.key} data-state=${m.state} data-cmid=${ifDefined(cmid)}>
    <div class="line">
      ${
        failed
          ? html`<button class="fail" type="button" aria-label=${i.t('retry')} title=${i.t('retry')}
            @click=${() => act.retry(cmid)}>!</button>`
          : nothing
      }
      <div class="bubble${m.kind === 2 ? ' pic' : ''}" part=${r.mine ? 'bubble bubble-mine' : 'bubble bubble-theirs'}>
        ${r.name ? html`<div class="name" style=${styleMap({ color: colorOf(m.sender) })}>${m.sender}</div>` : nothing}
        ${
          m.kind === 2
            ? imageBody(m, i, act, meta)
            : m.kind === 3
              ? voiceBody(m, r.key, i, act, meta)
              : html`<span class="text">${previewOf(m, i)}</span>${meta}`
        }
      </div>
    </div>
    ${
      failed
        ? html`<div class="caption failed">${label} ·
          <button class="link" type="button" @click=${() => act.remove(cmid)}>${i.t('delete')}</button></div>`
        : r.caption
          ? html`<div class="caption ${m.state}" aria-hidden="true">${label}</div>`
          : nothing
    }
  </div>`;
}

/** The styles of rows and bubbles. */
export const bubbleStyles = css`
  .day {
    display: flex;
    justify-content: center;
    padding: 12px 0 6px;
  }
  .day span {
    padding: 2px 10px;
    border-radius: 999px;
    background: color-mix(in srgb, var(--_bg) 75%, transparent);
    color: var(--_muted);
    font-size: 12px;
    font-weight: 500;
    box-shadow: 0 1px 1px rgb(0 0 0 / 0.04);
  }
  .row {
    display: flex;
    flex-direction: column;
    align-items: flex-start;
    padding: 2px 12px 0;
  }
  .row.first {
    padding-top: 8px;
  }
  .row.mine {
    align-items: flex-end;
  }
  .line {
    display: flex;
    align-items: center;
    gap: 6px;
    max-width: 82%;
  }
  .bubble {
    min-width: 0;
    padding: 6px 10px 6px 12px;
    border-radius: 18px;
    background: var(--_bubble);
    color: var(--_fg);
    box-shadow: 0 1px 1px rgb(0 0 0 / 0.06);
    overflow-wrap: anywhere;
    font-size: 14.5px;
    line-height: 1.4;
  }
  .text {
    white-space: pre-wrap;
  }
  .theirs:not(.first) .bubble {
    border-top-left-radius: 6px;
  }
  .theirs:not(.last) .bubble {
    border-bottom-left-radius: 6px;
  }
  .mine .bubble {
    background: var(--_accent);
    color: var(--_on-accent);
  }
  .mine:not(.first) .bubble {
    border-top-right-radius: 6px;
  }
  .mine:not(.last) .bubble {
    border-bottom-right-radius: 6px;
  }
  .mine[data-state='failed'] .bubble {
    box-shadow: 0 0 0 1.5px var(--_danger);
  }
  .name {
    font-size: 12.5px;
    font-weight: 600;
    margin-bottom: 1px;
  }
  .meta {
    float: right;
    display: inline-flex;
    align-items: center;
    gap: 3px;
    margin: 7px 0 -3px 10px;
    font-size: 11px;
    line-height: 1;
    white-space: nowrap;
    color: var(--_muted);
    user-select: none;
  }
  .mine .meta {
    color: color-mix(in srgb, var(--_on-accent) 95%, transparent);
  }
  .tick {
    width: 15px;
    height: 15px;
    stroke-width: 2.2;
  }
  .tick.read {
    color: var(--_read);
    stroke-width: 2.8;
  }
  .tick.wait {
    opacity: 0;
    animation:
      appear 0s 0.3s forwards,
      spin 2s 0.3s linear infinite;
  }
  @keyframes appear {
    to {
      opacity: 1;
    }
  }
  @keyframes spin {
    to {
      transform: rotate(1turn);
    }
  }
  .caption {
    padding: 2px 6px 0;
    font-size: 11.5px;
    color: var(--_muted);
  }
  .caption.read {
    color: var(--_tint);
    font-weight: 600;
  }
  .caption.failed {
    color: color-mix(in srgb, var(--_danger) 80%, var(--_fg));
  }
  .link {
    color: inherit;
    font-weight: 600;
    text-decoration: underline;
    text-underline-offset: 2px;
    border-radius: 4px;
  }
  .fail {
    display: grid;
    place-items: center;
    flex: none;
    width: 24px;
    height: 24px;
    border-radius: 50%;
    background: var(--_danger);
    color: #fff;
    font-weight: 700;
    font-size: 14px;
    line-height: 1;
  }
  .fail:hover {
    filter: brightness(1.1);
  }
`;
