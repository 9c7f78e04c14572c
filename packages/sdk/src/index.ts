/**
 * @synkey/sdk — the Synkey client engine.
 *
 * `createEngine` connects one user to a Synkey server and keeps a local copy of their
 * conversations: it syncs by SynKey, sends through a persistent outbox with retries under the same
 * clientMsgId, and reports changes to subscribers. The engine depends only on small interfaces
 * (Store, Transport) and runs in a page, a Worker or Node.
 *
 * @packageDocumentation
 */

export {
  type Conversation,
  ConvKind,
  ErrorCode,
  Limits,
  type Media,
  type Member,
  type Message,
  MsgKind,
  ProtocolError,
  type Receipt,
  ReceiptKind,
  type SyncEvent,
} from '@synkey/protocol';
export { applyEvents } from './apply';
export {
  type BackoffRange,
  backoff,
  nextReconnect,
  nextSendAttempt,
  type ReconnectPolicy,
  reconnectPolicy,
  type SendDecision,
  type SendPolicy,
  sendPolicy,
} from './backoff';
export type { ClientEvent, EngineCalls, SessionConfig, SessionInfo, StorageKind } from './browser/api';
export {
  type ClientOptions,
  type ClientState,
  createClient,
  createClientWith,
  type EngineLoaders,
  type Runtime,
  type SynkeyClient,
} from './browser/client';
export type { MediaVariant } from './browser/media-urls';
export {
  RecorderError,
  RecorderErrorCode,
  type RecordVoiceOptions,
  recordVoice,
  type VoiceClip,
  type VoiceRecording,
} from './browser/voice-recorder';
export { type ConnectionState, linkUrls, type TransportMode } from './connection';
export { createEngine } from './create-engine';
export {
  type CreateConversation,
  createEngineOn,
  type Engine,
  type EngineEvent,
  type EngineListener,
  type EngineOptions,
  type MediaOptions,
  type MessagePage,
} from './engine';
export { isLinkFailure, isPermanent, ServerError } from './errors';
export { connectHttp, type FetchLike, type HttpLinkOptions } from './http-transport';
export { isStoreError, StoreError, StoreErrorCode } from './idb/errors';
export { type IdbStoreOptions, openIdbStore } from './idb/idb-store';
export { type DurableStore, openDurableStore } from './idb/open-store';
export { newClientMsgId, type RandomBytes, uuidv7Generator } from './ids';
export type { MediaFetch, MediaResponse } from './media/http';
export type { ImageOptions } from './media/validate';
export { MemoryStore } from './memory-store';
export { defaultRateLimit, Pacer, type RateLimit } from './pacer';
export {
  type ChatMessage,
  type LocalMedia,
  type MessageState,
  messageState,
  positionState,
  withPositions,
} from './state';
export type {
  Changes,
  MessageRange,
  OutboxEntry,
  OutboxPatch,
  OutboxState,
  Store,
  StoreTx,
  SynKey,
  TxWrites,
  UploadState,
} from './store';
export type { AuthOk, CallOp, LinkOptions, Notify, ReplyOf, Requester, RequestOp, Transport } from './transport';
export { connectWebSocket, type WebSocketConstructor, type WebSocketLike, type WsLinkOptions } from './ws-transport';
