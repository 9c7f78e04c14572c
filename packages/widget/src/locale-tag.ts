// Which of the supported languages an element speaks (no strings here: the launcher shell uses it too).

/** The supported locale for a BCP 47 tag: `zh*` → zh-CN, `ko*` → ko, anything else → en. */
export function pickLocale(tag: string | null | undefined): string {
  const t = (tag ?? '').toLowerCase();
  return t.startsWith('zh') ? 'zh-CN' : t.startsWith('ko') ? 'ko' : 'en';
}

/** The language an element should speak: its own or closest `lang`, the document's, then the browser's. */
export function langOf(el: Element): string {
  return el.closest('[lang]')?.getAttribute('lang') || document.documentElement.lang || navigator.language;
}
