// The elements inside `<synkey-chat>`'s panel. The script-tag embed loads this module when the panel
// first opens (or is about to), so a page whose visitors never open the chat never fetches it.
import { SynkeyComposer } from './composer';
import { SynkeyBanner } from './connection-banner';
import { SynkeyConversationList } from './conversation-list';
import { defineOnce } from './define-once';
import { SynkeyThread } from './thread-view';

/** Defines the panel's elements. Safe to call any number of times. */
export function definePanel(): void {
  defineOnce('synkey-banner', SynkeyBanner);
  defineOnce('synkey-composer', SynkeyComposer);
  defineOnce('synkey-conversation-list', SynkeyConversationList);
  defineOnce('synkey-thread', SynkeyThread);
}

definePanel();
