import { defineOnce } from './define-once';
import { definePanel } from './panel';
import { SynkeyChat } from './synkey-chat';

export { defineOnce };

/** Defines `<synkey-chat>` and the elements it is made of. Safe to call any number of times. */
export function defineSynkeyChat(): void {
  definePanel();
  defineOnce('synkey-chat', SynkeyChat);
}

defineSynkeyChat();
