// A client of the baseline relay (bench/procs/relay.ts): JSON text frames over a plain WebSocket.
import WebSocket from 'ws';
import type { LoadClient, LoadEvents } from './types';

/** A relay connection of one user, sending to one peer. */
export class RelayLoadClient implements LoadClient {
  readonly busy = false;
  /** The user this client sends to. */
  peer = '';

  private constructor(
    readonly user: string,
    private readonly ws: WebSocket,
    events: LoadEvents,
  ) {
    ws.on('message', (data: Buffer) => {
      const m = JSON.parse(String(data)) as { ack?: string; from?: string; id?: string };
      if (m.ack !== undefined) events.acked(m.ack);
      else if (m.from !== undefined && m.id !== undefined) events.delivered(m.id);
    });
    ws.on('error', () => {});
  }

  /** Connects as `user` and waits for the relay's hello. */
  static open(url: string, user: string, events: LoadEvents): Promise<RelayLoadClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      const c = new RelayLoadClient(user, ws, events);
      ws.once('error', reject);
      ws.once('open', () => {
        ws.send(JSON.stringify({ user }));
        ws.once('message', () => resolve(c));
      });
    });
  }

  send(tag: string, text: string): void {
    this.ws.send(JSON.stringify({ to: this.peer, id: tag, text }));
  }

  close(): void {
    this.ws.terminate();
  }
}
