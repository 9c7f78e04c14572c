import type { ClientState, Conversation, SynkeyClient } from '@synkey/sdk';
import type { ReactiveController, ReactiveControllerHost } from 'lit';

/**
 * Follows one client for an element: its conversation list, connection state, user and storage.
 * Subscribes while the element is connected and unsubscribes when it leaves the page.
 */
export class ClientController implements ReactiveController {
  conversations: Conversation[] = [];
  /** The conversation list arrived at least once. */
  loaded = false;
  state: ClientState = 'connecting';
  /** The signed-in user, once the engine knows it. */
  me: string | undefined;
  /** The engine keeps nothing across reloads (IndexedDB is unavailable). */
  memory = false;
  private client: SynkeyClient | undefined;
  private stops: (() => void)[] = [];
  private connected = false;

  constructor(private readonly host: ReactiveControllerHost) {
    host.addController(this);
  }

  /** Follows `client` from now on (or nothing). */
  use(client: SynkeyClient | undefined): void {
    if (client === this.client) return;
    this.stop();
    this.client = client;
    this.conversations = [];
    this.loaded = false;
    this.me = undefined;
    this.memory = false;
    this.state = 'connecting';
    if (this.connected) this.start();
  }

  hostConnected(): void {
    this.connected = true;
    this.start();
  }

  hostDisconnected(): void {
    this.connected = false;
    this.stop();
  }

  private start(): void {
    const c = this.client;
    if (!c || this.stops.length > 0) return;
    const update = () => this.host.requestUpdate();
    const info = () =>
      c.info().then(
        (i) => {
          if (this.client !== c) return;
          this.me = i.user;
          this.memory = i.storage === 'memory';
          update();
        },
        () => undefined,
      );
    this.stops = [
      c.watchConversations((list) => {
        this.conversations = list;
        this.loaded = true;
        update();
      }),
      c.watchState((s) => {
        this.state = s;
        if (this.me === undefined && (s === 'online' || s === 'degraded')) void info();
        update();
      }),
      c.subscribe((e) => {
        if (e.type !== 'storage') return;
        this.memory = e.storage === 'memory';
        update();
      }),
    ];
    void info();
  }

  private stop(): void {
    for (const s of this.stops.splice(0)) s();
  }
}
