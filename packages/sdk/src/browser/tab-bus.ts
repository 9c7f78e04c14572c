import { ErrorCode, ProtocolError } from '@synkey/protocol';
import type { CallName, ClientEvent, EngineCalls } from './api';
import { fromWireError, toWireError, type WireError } from './wire-error';

/** What travels on a user's BroadcastChannel between the owner tab and the others. */
type BusMessage =
  | { t: 'call'; id: string; method: CallName; args: unknown[] }
  | { t: 'reply'; id: string; ok: true; value: unknown }
  | { t: 'reply'; id: string; ok: false; error: WireError }
  | { t: 'event'; event: ClientEvent }
  /** A new owner is ready: calls still waiting are sent to it again. */
  | { t: 'owner' };

/** The part of BroadcastChannel the bus uses. */
export interface Channel {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (e: MessageEvent) => void): void;
  removeEventListener(type: 'message', listener: (e: MessageEvent) => void): void;
  close(): void;
}

/** The owner's side: answers other tabs' calls with its engine and broadcasts its events. */
export class BusServer {
  private readonly onMessage = (e: MessageEvent) => {
    const m = e.data as BusMessage;
    if (m?.t !== 'call') return;
    const fn = this.calls[m.method] as (...args: unknown[]) => Promise<unknown>;
    Promise.resolve()
      .then(() => fn.apply(this.calls, m.args))
      .then(
        (value) => this.reply({ t: 'reply', id: m.id, ok: true, value }),
        (error) => this.reply({ t: 'reply', id: m.id, ok: false, error: toWireError(error) }),
      );
  };
  private closed = false;

  constructor(
    private readonly channel: Channel,
    private readonly calls: EngineCalls,
  ) {
    channel.addEventListener('message', this.onMessage);
    channel.postMessage({ t: 'owner' } satisfies BusMessage);
  }

  /** Sends an engine event to every other tab. */
  broadcast(event: ClientEvent): void {
    this.channel.postMessage({ t: 'event', event } satisfies BusMessage);
  }

  /**
   * Stops answering. Calls still running get no reply: a closing owner's engine fails them ("the
   * client is closed"), but the follower must keep waiting and re-send them to the next owner.
   */
  close(): void {
    this.closed = true;
    this.channel.removeEventListener('message', this.onMessage);
  }

  private reply(message: BusMessage): void {
    if (!this.closed) this.channel.postMessage(message);
  }
}

interface Pending {
  method: CallName;
  args: unknown[];
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  timer: ReturnType<typeof setTimeout>;
}

let counter = 0;

/**
 * A follower's side: forwards engine calls to the owner tab and receives its events. Calls that
 * are still waiting when a new owner appears are sent again (every call is safe to repeat: `send`
 * carries its cmid). A call with no answer within `timeoutMs` rejects with TIMEOUT.
 */
export class BusClient {
  private readonly pending = new Map<string, Pending>();
  private readonly prefix = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-`;
  private readonly onMessage = (e: MessageEvent) => {
    const m = e.data as BusMessage;
    if (m?.t === 'reply') {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.ok) p.resolve(m.value);
      else p.reject(fromWireError(m.error));
    } else if (m?.t === 'event') this.onEvent(m.event);
    else if (m?.t === 'owner') for (const [id, p] of this.pending) this.post(id, p);
  };

  constructor(
    private readonly channel: Channel,
    private readonly onEvent: (event: ClientEvent) => void,
    private readonly timeoutMs: number,
  ) {
    channel.addEventListener('message', this.onMessage);
  }

  /** Calls `method` on the owner's engine. */
  call<N extends CallName>(method: N, args: Parameters<EngineCalls[N]>): ReturnType<EngineCalls[N]> {
    return new Promise<unknown>((resolve, reject) => {
      const id = `${this.prefix}${++counter}`;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ProtocolError(ErrorCode.Timeout, `the tab that owns the connection did not answer ${method}`));
      }, this.timeoutMs);
      const p: Pending = { method, args, resolve, reject, timer };
      this.pending.set(id, p);
      this.post(id, p);
    }) as ReturnType<EngineCalls[N]>;
  }

  /** Stops listening; returns the calls still waiting so a new owner (this tab) can run them. */
  close(): Pending[] {
    this.channel.removeEventListener('message', this.onMessage);
    const left = [...this.pending.values()];
    for (const p of left) clearTimeout(p.timer);
    this.pending.clear();
    return left;
  }

  private post(id: string, p: Pending): void {
    this.channel.postMessage({ t: 'call', id, method: p.method, args: p.args } satisfies BusMessage);
  }
}

export type { Pending as PendingCall };
