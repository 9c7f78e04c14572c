/** The page's colour theme: follow the system, or a fixed light or dark. */
export type ThemeChoice = 'auto' | 'light' | 'dark';

const KEY = 'synkey-demo-theme';
const ORDER: ThemeChoice[] = ['auto', 'light', 'dark'];
const ICON: Record<ThemeChoice, string> = { auto: '◐', light: '☀', dark: '☾' };
const NAME: Record<ThemeChoice, string> = { auto: 'system', light: 'light', dark: 'dark' };

/** The theme after `current` when the visitor presses the theme button. */
export function nextTheme(current: ThemeChoice): ThemeChoice {
  return ORDER[(ORDER.indexOf(current) + 1) % ORDER.length] as ThemeChoice;
}

function stored(): ThemeChoice {
  const value = localStorage.getItem(KEY);
  return value === 'light' || value === 'dark' ? value : 'auto';
}

/**
 * Wires the theme button: applies the saved choice (or `?theme=`) to the page and calls `apply`
 * with it now and on every change, so widgets follow.
 */
export function themeButton(button: HTMLButtonElement, apply: (theme: ThemeChoice) => void): ThemeChoice {
  const param = new URLSearchParams(location.search).get('theme');
  let theme: ThemeChoice = param === 'light' || param === 'dark' || param === 'auto' ? param : stored();
  const set = (next: ThemeChoice) => {
    theme = next;
    if (theme === 'auto') delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = theme;
    button.setAttribute('aria-label', `Colour theme: ${NAME[theme]}`);
    button.title = `Colour theme: ${NAME[theme]}`;
    const icon = button.querySelector('[aria-hidden]');
    if (icon) icon.textContent = ICON[theme];
    apply(theme);
  };
  button.addEventListener('click', () => {
    const next = nextTheme(theme);
    if (next === 'auto') localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, next);
    set(next);
  });
  set(theme);
  return theme;
}
