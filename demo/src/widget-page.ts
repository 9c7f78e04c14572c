import type { SynkeyChat } from '../../packages/widget/src/index';
import '../../packages/widget/src/index';

// ?user=NAME signs in with a dev token; ?server= picks the chat server (default: this page's origin).
// Optional: ?mode=launcher, ?lang=zh-CN|ko|en, ?theme=light|dark|auto, ?peer=ID (open that direct
// conversation), ?sendBudgetMs=N (shorter time before an unsent message is `failed`, to try retry),
// ?runtime=main|worker|shared-worker.
const params = new URLSearchParams(location.search);
const user = params.get('user') ?? 'alice';
const server = params.get('server') ?? location.origin;
const budget = Number(params.get('sendBudgetMs') ?? 0);
const runtime = params.get('runtime') as 'main' | 'worker' | 'shared-worker' | null;

const chat = document.createElement('synkey-chat') as SynkeyChat;
chat.setAttribute('mode', params.get('mode') === 'launcher' ? 'launcher' : 'inline');
for (const name of ['lang', 'theme', 'peer', 'z-index']) {
  const value = params.get(name);
  if (value) chat.setAttribute(name, value);
}
chat.server = server;
chat.getToken = async () => {
  const res = await fetch(`${server}/dev/token?user=${encodeURIComponent(user)}`);
  if (!res.ok) throw new Error(`token request failed: ${res.status}`);
  return ((await res.json()) as { token: string }).token;
};
chat.clientOptions = {
  client: 'synkey-demo-widget',
  ...(runtime ? { runtime } : {}),
  ...(budget > 0 ? { sendPolicy: { budgetMs: budget, ackTimeoutMs: Math.min(budget, 10_000) } } : {}),
};
(document.getElementById('me') as HTMLElement).textContent = user;
(document.getElementById('host') as HTMLElement).append(chat);
// Handles for the end-to-end tests and for trying things from the console.
Object.assign(window, { synkeyChat: chat });
Object.defineProperty(window, 'synkey', { get: () => chat.activeClient, configurable: true });
