import { type ClientOptions, createClientWith, loadEngineHost, type SynkeyClient } from './client-core';

export type { ClientOptions, ClientState, EngineLoaders, Runtime, SynkeyClient } from './client-core';
export { createClientWith } from './client-core';

function defaultWorker(shared: boolean): Worker | SharedWorker {
  return shared
    ? new SharedWorker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'synkey' })
    : new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'synkey' });
}

/** Creates a client and starts its engine (shared with the user's other tabs where the browser allows). */
export function createClient(options: ClientOptions): SynkeyClient {
  return createClientWith(options, { createWorker: defaultWorker, loadHost: loadEngineHost });
}
