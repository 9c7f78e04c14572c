// `<synkey-chat>` for the script-tag embed: loaded when the chat is first wanted (launcher-shell.ts).
import type { ClientOptions, SynkeyClient } from '@synkey/sdk/core';
import { defineOnce } from './define-once';
import { SynkeyChat } from './synkey-chat';

/** Defines `<synkey-chat>` with clients made by `make` and the panel's elements loaded on demand. */
export function defineChat(make: (options: ClientOptions) => SynkeyClient): void {
  SynkeyChat.clientFactory = make;
  SynkeyChat.loadPanel = () => import('./panel');
  defineOnce('synkey-chat', SynkeyChat);
}
