/**
 * Defines `tag` as `element` unless the page already has a `tag`: a second copy of the widget
 * script (or a second import) leaves the first definition in place instead of throwing.
 */
export function defineOnce(tag: string, element: CustomElementConstructor): void {
  if (typeof customElements !== 'undefined' && !customElements.get(tag)) customElements.define(tag, element);
}
