import { css, unsafeCSS } from 'lit';
import { BASE_CSS, THEME_CSS } from './shared-css';

/**
 * Theme tokens, set on `<synkey-chat>`. Hosts override the public `--synkey-*` custom properties;
 * the private `--_*` ones carry the resolved values into every shadow root below.
 */
export const theme = unsafeCSS(THEME_CSS);

/** Shared by every element: isolation from host CSS, typography, buttons, focus, motion; visually hidden text, icon buttons, avatars. */
export const base = [
  unsafeCSS(BASE_CSS),
  css`
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
  `,
];
