// Plain-text CSS shared by the Lit elements and the embed's launcher shell, which draws the
// launcher before Lit has loaded. Tagged `css` (a plain string builder, not Lit's) so that the
// build's template minifier (build/minify-templates.ts) minifies it like Lit's styles.
const css = (strings: TemplateStringsArray, ...values: string[]): string => String.raw({ raw: strings }, ...values);

const DARK = css`
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
export const THEME_CSS = css`
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
    ${DARK}
  }
  @media (prefers-color-scheme: dark) {
    :host([theme='auto']) {
      ${DARK}
    }
  }
`;

/** Shared by every element and the launcher shell: isolation from host CSS, typography, buttons, focus, icons, motion. */
export const BASE_CSS = css`
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

/** The launcher: the round button with its unread badge. */
export const LAUNCHER_CSS = css`
  /* The host element is in the page's reach (a reset like * { all: unset !important } hits it): restate the type here. */
  .launcher {
    font: 14px/1.45 var(--_font);
    color: var(--_on-accent);
    position: fixed;
    right: 20px;
    bottom: 20px;
    display: grid;
    place-items: center;
    width: 56px;
    height: 56px;
    border-radius: 50%;
    background: var(--_accent);
    box-shadow:
      0 6px 20px rgb(0 0 0 / 0.2),
      0 2px 6px rgb(0 0 0 / 0.12);
    transition: transform 0.2s;
  }
  .launcher:hover {
    transform: scale(1.06);
  }
  /* Clicked before the chat's code arrived: it opens once that has loaded. */
  .launcher[aria-busy='true'] {
    cursor: progress;
    opacity: 0.8;
  }
  .launcher .icon {
    width: 26px;
    height: 26px;
  }
  .launcher .badge {
    position: absolute;
    top: -2px;
    right: -2px;
    min-width: 22px;
    height: 22px;
    padding: 0 6px;
    border: 2px solid var(--_bg);
    border-radius: 11px;
    background: var(--_danger);
    color: #fff;
    font-size: 11.5px;
    font-weight: 700;
    line-height: 18px;
    text-align: center;
  }
`;
