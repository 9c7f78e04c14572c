import type { SynkeyChat } from '../../packages/widget/src/index';
import '../../packages/widget/src/index';
import { colorOf } from '../../packages/widget/src/icons';
import { presence } from './presence';
import { type ThemeChoice, themeButton } from './theme';

// The landing page: Alice and Bob side by side, each in an inline <synkey-chat> with their own engine,
// and a switch per user that takes their link offline on the server (dev mode's /dev/offline).
// ?server= picks the chat server (default: this page's origin); ?sendBudgetMs=N is how long a message
// may stay unsent before it is `failed` (default 15 s, so the failed state is quick to see).
const params = new URLSearchParams(location.search);
const server = params.get('server') ?? location.origin;
const budget = Number(params.get('sendBudgetMs') ?? 15_000);

async function token(user: string): Promise<string> {
  const res = await fetch(`${server}/dev/token?user=${encodeURIComponent(user)}`);
  if (!res.ok) throw new Error(`token request failed: ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}

async function setOffline(user: string, on: boolean): Promise<boolean> {
  const res = await fetch(`${server}/dev/offline?user=${encodeURIComponent(user)}&on=${on ? 1 : 0}`, {
    method: 'POST',
  });
  if (!res.ok) throw new Error(`offline switch failed: ${res.status}`);
  return ((await res.json()) as { offline: boolean }).offline;
}

async function isOffline(user: string): Promise<boolean> {
  const res = await fetch(`${server}/dev/offline?user=${encodeURIComponent(user)}`);
  return res.ok && ((await res.json()) as { offline: boolean }).offline;
}

const chats: Record<string, SynkeyChat> = {};

/** Mounts one user's chat, with the direct conversation with `peer` open, and wires their card. */
function mount(card: HTMLElement, theme: ThemeChoice): void {
  const user = card.dataset.user as string;
  const peer = user === 'alice' ? 'bob' : 'alice';
  const name = user[0]?.toUpperCase() + user.slice(1);
  const chat = document.createElement('synkey-chat') as SynkeyChat;
  chat.setAttribute('mode', 'inline');
  chat.setAttribute('peer', peer);
  chat.setAttribute('theme', theme);
  chat.setAttribute('aria-label', `${name}'s chat`);
  chat.server = server;
  chat.getToken = () => token(user);
  chat.clientOptions = {
    client: 'synkey-demo-landing',
    sendPolicy: { budgetMs: budget, ackTimeoutMs: Math.min(budget, 10_000) },
  };
  (card.querySelector('.chat') as HTMLElement).append(chat);
  chats[user] = chat;

  (card.querySelector('.avatar') as HTMLElement).style.background = colorOf(user);
  const line = card.querySelector('.link-state') as HTMLElement;
  const button = card.querySelector('.switch') as HTMLButtonElement;
  let held = false;
  let state: Parameters<typeof presence>[1] = 'connecting';
  const render = () => {
    const p = presence(name, state, held);
    line.textContent = p.text;
    line.dataset.state = p.dot;
    button.dataset.held = String(held);
    button.textContent = held ? `Bring ${name} back online` : `Take ${name} offline`;
  };
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      held = await setOffline(user, !held);
      // The SDK reconnects at once on the browser's `online` event instead of waiting out its backoff.
      if (!held) window.dispatchEvent(new Event('online'));
      render();
    } catch (error) {
      line.textContent = `Could not switch: ${(error as Error).message}`;
    } finally {
      button.disabled = false;
    }
  });
  void isOffline(user).then((on) => {
    held = on;
    render();
  });
  void chat.updateComplete.then(() =>
    chat.activeClient?.watchState((s) => {
      state = s;
      render();
    }),
  );
  render();
}

const initial = themeButton(document.getElementById('theme') as HTMLButtonElement, (theme) => {
  for (const chat of Object.values(chats)) chat.setAttribute('theme', theme);
});
for (const card of document.querySelectorAll<HTMLElement>('.person[data-user]')) mount(card, initial);
// Handles for the end-to-end tests and for trying things from the console.
Object.assign(window, { synkeyDemo: chats });
