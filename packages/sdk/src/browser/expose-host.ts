import { openDurableStore } from '../idb/open-store';
import type { ClientEvent, SessionConfig } from './api';
import { EngineHost, type Session } from './engine-host';
import * as Rpc from './rpc';

/** The API a worker exposes to each page over {@link Rpc.expose}. */
export interface WorkerApi {
  /** Answers at once: the page's check that the worker runs. */
  ping(): string;
  /**
   * Joins the engine for `config`. `tabLock` names a Web Lock the page holds for its lifetime: when
   * it is released (the tab closed) the session ends even if the page never said goodbye.
   */
  open(
    config: SessionConfig,
    getToken: (() => Promise<string>) | undefined,
    onEvent: (event: ClientEvent) => void,
    tabLock?: string,
  ): Session;
}

/** Makes the host every worker of this origin runs. */
export function createHost(): EngineHost {
  const scope = globalThis as unknown as {
    navigator?: { locks?: LockManager };
    BroadcastChannel?: typeof BroadcastChannel;
  };
  return new EngineHost({
    ...(scope.navigator?.locks ? { locks: scope.navigator.locks } : {}),
    ...(scope.BroadcastChannel ? { channel: (name: string) => new BroadcastChannel(name) } : {}),
    openStore: (name, onClose) => openDurableStore(name, onClose ? { onClose } : {}),
  });
}

/** The RPC surface over a host; callbacks from the page are released when its session ends. */
export function workerApi(host: EngineHost): WorkerApi {
  return {
    ping: () => 'pong',
    open(config, getToken, onEvent, tabLock) {
      const session = host.open(config, {
        ...(getToken ? { getToken: () => getToken() } : {}),
        onEvent: (event) => {
          Promise.resolve(onEvent(event)).catch(() => undefined);
        },
      });
      const release = () => {
        for (const cb of [getToken, onEvent]) (cb as Partial<Rpc.Releasable> | undefined)?.[Rpc.releaseProxy]?.();
      };
      let ended = false;
      const end = async () => {
        if (ended) return;
        ended = true;
        try {
          await session.close();
        } finally {
          release();
        }
      };
      const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks;
      if (tabLock && locks) void locks.request(tabLock, () => end());
      return Rpc.proxy({ ...session, close: end });
    },
  };
}
