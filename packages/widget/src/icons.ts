import { html, svg, type TemplateResult } from 'lit';
import { styleMap } from 'lit/directives/style-map.js';
import { ICON_PATHS as P } from './icon-paths';

/** The name of an icon. */
export type IconName = keyof typeof P;

/** A decorative 24×24 stroke icon. */
export const icon = (name: IconName, cls = ''): TemplateResult =>
  html`<svg class="icon ${cls}" viewBox="0 0 24 24" aria-hidden="true" focusable="false">${svg`<path d=${P[name]}></path>`}</svg>`;

/** A round button showing only an icon: `label` names it and is its tooltip. */
export const iconButton = (label: string, name: IconName, click: (e: Event) => void, cls = 'ib'): TemplateResult =>
  html`<button class=${cls} type="button" aria-label=${label} title=${label} @click=${click}>${icon(name)}</button>`;

const HUES = [210, 150, 25, 280, 340, 190, 45, 110];

/** A stable colour for a name, for its avatar. */
export function colorOf(name: string): string {
  let h = 0;
  for (const c of name) h = (h * 31 + (c.codePointAt(0) ?? 0)) >>> 0;
  return `hsl(${HUES[h % HUES.length]} 55% 48%)`;
}

/** A round avatar with the name's first letter (styled through the CSSOM, so a strict CSP allows it). */
export const avatar = (name: string, cls = 'avatar'): TemplateResult =>
  html`<span class=${cls} style=${styleMap({ background: colorOf(name) })} aria-hidden="true">${[...name][0] ?? '?'}</span>`;
