import { SynkeyComposer } from './composer';
import { SynkeyBanner } from './connection-banner';
import { SynkeyConversationList } from './conversation-list';
import { SynkeyChat } from './synkey-chat';
import { SynkeyThread } from './thread-view';

/**
 * Defines `tag` as `element` unless the page already has a `tag`: a second copy of the widget
 * script (or a second import) leaves the first definition in place instead of throwing.
 */
export function defineOnce(tag: string, element: CustomElementConstructor): void {
  if (typeof customElements !== 'undefined' && !customElements.get(tag)) customElements.define(tag, element);
}

/** Defines `<synkey-chat>` and the elements it is made of. Safe to call any number of times. */
export function defineSynkeyChat(): void {
  defineOnce('synkey-banner', SynkeyBanner);
  defineOnce('synkey-composer', SynkeyComposer);
  defineOnce('synkey-conversation-list', SynkeyConversationList);
  defineOnce('synkey-thread', SynkeyThread);
  defineOnce('synkey-chat', SynkeyChat);
}

defineSynkeyChat();
