import type { Conversation } from '@synkey/protocol';
import type { SendPolicy } from '../backoff';
import type { ConnectionState, TransportMode } from '../connection';
import type { CreateConversation, EngineEvent, MediaOptions, MessagePage } from '../engine';
import type { ImageOptions } from '../media/validate';
import type { ChatMessage } from '../state';
import type { WireError } from './wire-error';

/** Where the engine keeps its state: IndexedDB, or memory when IndexedDB is unavailable. */
export type StorageKind = 'indexeddb' | 'memory';

/** What a page asks the engine host for. Structured-clonable. */
export interface SessionConfig {
  server: string;
  wsUrl?: string;
  transport?: TransportMode;
  /** The user the token is for (its `sub`): engines are shared per server and user. */
  user?: string;
  /** A fixed token (when the page gave no `getToken`). */
  token?: string;
  /** `memory` forces the in-memory store (no persistence). Default: IndexedDB when it works. */
  storage?: StorageKind;
  /** Names the client software in AUTH. */
  client?: string;
  /** Overrides of the send retry policy (ack timeout, attempts, time budget, backoff). */
  sendPolicy?: Partial<SendPolicy>;
  /** Image chunk size and parallelism, voice part size. */
  media?: MediaOptions;
}

/** An engine event as it crosses to the page: errors travel as {@link WireError}s. */
export type ClientEvent =
  | Exclude<EngineEvent, { type: 'error' }>
  | { type: 'error'; error: WireError }
  | { type: 'storage'; storage: StorageKind; reason?: string };

/** A snapshot of a session's engine. */
export interface SessionInfo {
  state: ConnectionState;
  user: string | undefined;
  storage: StorageKind;
  /** Why the engine runs in memory, when it does. */
  storageReason?: string;
  /** This tab's engine owns the connection (false: another tab's engine serves it). */
  owner: boolean;
}

/**
 * The engine calls a page can make; every argument and result is structured-clonable, so the same
 * surface serves the RPC (page ↔ worker) and the tab bus (follower tab → owner tab).
 */
export interface EngineCalls {
  send(conv: number, content: { text: string }, cmid?: string): Promise<string>;
  sendImage(conv: number, file: Blob, options?: ImageOptions, cmid?: string): Promise<string>;
  sendVoice(conv: number, audio: Blob, durationMs: number, cmid?: string): Promise<string>;
  /** A stored media file (or an image's thumbnail) as a Blob; NOT_FOUND when the user may not see it. */
  mediaFile(id: string, variant?: 'full' | 'thumb'): Promise<Blob>;
  retry(cmid: string): Promise<void>;
  remove(cmid: string): Promise<void>;
  markRead(conv: number): Promise<void>;
  createConversation(options: CreateConversation): Promise<Conversation>;
  conversations(): Promise<Conversation[]>;
  messages(conv: number, page?: MessagePage): Promise<ChatMessage[]>;
  kick(): Promise<void>;
  info(): Promise<SessionInfo>;
}

/** The names of {@link EngineCalls}. */
export type CallName = keyof EngineCalls;

export const CALL_NAMES: readonly CallName[] = [
  'send',
  'sendImage',
  'sendVoice',
  'mediaFile',
  'retry',
  'remove',
  'markRead',
  'createConversation',
  'conversations',
  'messages',
  'kick',
  'info',
];
