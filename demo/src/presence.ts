import type { ClientState } from '@synkey/sdk';

/** What a user's card says about their link: a short text and the state the dot shows. */
export interface Presence {
  text: string;
  dot: 'online' | 'connecting' | 'offline' | 'held';
}

/**
 * The card's line for a user whose client is in `state`, `held` offline by the server's dev switch
 * (or not).
 */
export function presence(name: string, state: ClientState, held: boolean): Presence {
  if (held) {
    return state === 'online' || state === 'degraded'
      ? { text: 'Going offline…', dot: 'connecting' }
      : { text: `Offline: the server refuses ${name}'s link`, dot: 'held' };
  }
  switch (state) {
    case 'online':
      return { text: 'Online', dot: 'online' };
    case 'degraded':
      return { text: 'Online (limited)', dot: 'online' };
    case 'connecting':
      return { text: 'Connecting…', dot: 'connecting' };
    default:
      return { text: 'Reconnecting…', dot: 'offline' };
  }
}
