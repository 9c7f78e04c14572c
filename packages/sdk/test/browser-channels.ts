import { randomUUID } from 'node:crypto';
import type { Channel } from '../src/browser/tab-bus';

/**
 * Node's BroadcastChannel (the same API as the browser's) under a namespace unique to one test, so
 * tests never hear each other. Every channel it opened is closed by {@link ChannelSpace.closeAll}:
 * an open BroadcastChannel keeps Node's event loop alive.
 */
export class ChannelSpace {
  private readonly prefix = `test-${randomUUID()}:`;
  private readonly opened = new Set<BroadcastChannel>();

  /** Opens a channel; `name` is scoped to this space. */
  open = (name = 'bus'): Channel => {
    const channel = new BroadcastChannel(`${this.prefix}${name}`);
    this.opened.add(channel);
    const close = channel.close.bind(channel);
    channel.close = () => {
      this.opened.delete(channel);
      close();
    };
    return channel;
  };

  /** Closes whatever is still open. */
  closeAll(): void {
    for (const channel of [...this.opened]) channel.close();
  }
}

/**
 * Wraps a channel so `onReceive` runs right after the wrapped listeners have handled each
 * incoming message (to act at an exact point, e.g. just after an owner took a call).
 */
export function observed(channel: Channel, onReceive: (data: unknown) => void): Channel {
  const wrapped = new Map<(e: MessageEvent) => void, (e: MessageEvent) => void>();
  return {
    postMessage: (message) => channel.postMessage(message),
    addEventListener: (type, listener) => {
      const w = (e: MessageEvent) => {
        listener(e);
        onReceive(e.data);
      };
      wrapped.set(listener, w);
      channel.addEventListener(type, w);
    },
    removeEventListener: (type, listener) => {
      const w = wrapped.get(listener);
      if (w) channel.removeEventListener(type, w);
      wrapped.delete(listener);
    },
    close: () => channel.close(),
  };
}
