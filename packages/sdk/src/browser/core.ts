/**
 * `@synkey/sdk/core`: the client without a default worker, for bundles that bring their own
 * (the script-tag embed inlines its worker). Importing it pulls in no worker asset.
 */
export { ErrorCode, ProtocolError } from '@synkey/protocol';
export type { ClientEvent, SessionInfo } from './api';
export {
  type ClientOptions,
  type ClientState,
  createClientWith,
  type EngineLoaders,
  type Runtime,
  type SynkeyClient,
} from './client-core';
