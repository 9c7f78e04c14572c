import { css } from 'lit';

const dark = css`
  --_bg: var(--synkey-bg, #17191e);
  --_fg: var(--synkey-fg, #e8eaed);
  --_muted: var(--synkey-muted, #9aa1ac);
  --_surface: var(--synkey-surface, #0f1115);
  --_bubble: var(--synkey-bubble, #252830);
  --_border: var(--synkey-border, #2b2f38);
  --_hover: rgb(255 255 255 / 0.07);
  --_read: var(--synkey-read, #7dd3fc);
  --_tint: color-mix(in srgb, var(--_accent) 55%, #fff);
  color-scheme: dark;
`;

/**
 * Theme tokens, set on `<synkey-chat>`. Hosts override the public `--synkey-*` custom properties;
 * the private `--_*` ones carry the resolved values into every shadow root below.
 */
export const theme = css`
  :host {
    --_accent: var(--synkey-accent, #2563eb);
    --_on-accent: var(--synkey-on-accent, #fff);
    --_bg: var(--synkey-bg, #fff);
    --_fg: var(--synkey-fg, #111827);
    --_muted: var(--synkey-muted, #5f6877);
    --_surface: var(--synkey-surface, #f0f2f5);
    --_bubble: var(--synkey-bubble, #fff);
    --_border: var(--synkey-border, #e4e7ec);
    --_hover: rgb(17 24 39 / 0.05);
    --_danger: var(--synkey-danger, #dc2626);
    --_read: var(--synkey-read, #bae6fd);
    /* The accent as text on the page background. */
    --_tint: var(--_accent);
    --_radius: var(--synkey-radius, 16px);
    --_font: var(
      --synkey-font,
      system-ui,
      -apple-system,
      'Segoe UI',
      Roboto,
      'Helvetica Neue',
      Arial,
      'PingFang SC',
      'Microsoft YaHei',
      'Apple SD Gothic Neo',
      'Malgun Gothic',
      'Noto Sans',
      sans-serif
    );
    color-scheme: light;
  }
  :host([theme='dark']) {
    ${dark}
  }
  @media (prefers-color-scheme: dark) {
    :host([theme='auto']) {
      ${dark}
    }
  }
`;

/** Shared by every element: isolation from host CSS, typography, buttons, focus, motion. */
export const base = css`
  :host {
    all: initial;
    display: block;
    box-sizing: border-box;
    font-family: var(--_font);
    font-size: 14px;
    line-height: 1.45;
    color: var(--_fg);
    text-align: start;
    -webkit-font-smoothing: antialiased;
    -webkit-text-size-adjust: 100%;
  }
  *,
  ::before,
  ::after {
    box-sizing: border-box;
  }
  [hidden] {
    display: none !important;
  }
  button,
  input,
  textarea {
    font: inherit;
    color: inherit;
    letter-spacing: inherit;
    margin: 0;
  }
  button {
    background: none;
    border: 0;
    padding: 0;
    cursor: pointer;
    -webkit-tap-highlight-color: transparent;
  }
  button:disabled {
    cursor: default;
  }
  :focus-visible {
    outline: 2px solid var(--_accent);
    outline-offset: 2px;
  }
  :focus:not(:focus-visible) {
    outline: none;
  }
  .sr {
    position: absolute !important;
    width: 1px;
    height: 1px;
    margin: -1px;
    padding: 0;
    border: 0;
    overflow: hidden;
    clip-path: inset(50%);
    white-space: nowrap;
  }
  .icon {
    width: 20px;
    height: 20px;
    flex: none;
    fill: none;
    stroke: currentColor;
    stroke-width: 2;
    stroke-linecap: round;
    stroke-linejoin: round;
  }
  .ib {
    display: inline-grid;
    place-items: center;
    flex: none;
    width: 36px;
    height: 36px;
    border-radius: 50%;
    color: var(--_muted);
    transition: background-color 0.15s, color 0.15s;
  }
  .ib:hover {
    background: var(--_hover);
    color: var(--_fg);
  }
  .avatar {
    display: grid;
    place-items: center;
    flex: none;
    width: 40px;
    height: 40px;
    border-radius: 50%;
    color: #fff;
    font-weight: 600;
    font-size: 16px;
    text-transform: uppercase;
    user-select: none;
  }
  @media (prefers-reduced-motion: reduce) {
    *,
    ::before,
    ::after {
      animation-duration: 1ms !important;
      animation-iteration-count: 1 !important;
      transition-duration: 1ms !important;
      scroll-behavior: auto !important;
    }
  }
`;
