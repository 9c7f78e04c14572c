/**
 * `@synkey/sdk/core`: the client without a default worker, for bundles that bring their own
 * (the script-tag embed starts its own). Importing it pulls in no worker asset.
 */
export type { Media } from '@synkey/protocol';
export { ErrorCode, Limits, ProtocolError } from '@synkey/protocol/lite';
export type { MediaOptions } from '../engine';
export type { ImageOptions } from '../media/validate';
export { type ChatMessage, type LocalMedia, withPositions } from '../state';
export type { ClientEvent, SessionInfo } from './api';
export {
  type ClientOptions,
  type ClientState,
  createClientWith,
  type EngineLoaders,
  loadEngineHost,
  type Runtime,
  type SynkeyClient,
} from './client-core';
export type { MediaVariant } from './media-urls';
export {
  RecorderError,
  RecorderErrorCode,
  type RecordVoiceOptions,
  recordVoice,
  type VoiceClip,
  type VoiceRecording,
} from './voice-recorder';
