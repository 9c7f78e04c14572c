// The engine's worker entry, for a SharedWorker (all tabs of an origin share it) or a dedicated
// Worker (one per tab; tabs then elect the owner of the connection with Web Locks).
import { createHost, workerApi } from './expose-host';
import * as Rpc from './rpc';

const api = workerApi(createHost());
const scope = globalThis as unknown as { onconnect?: unknown; addEventListener: typeof addEventListener };

if ('onconnect' in scope) {
  scope.addEventListener('connect', (event) => {
    const port = (event as MessageEvent).ports[0];
    if (port) Rpc.expose(api, port);
  });
} else {
  Rpc.expose(api);
}
