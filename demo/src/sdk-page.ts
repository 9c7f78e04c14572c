import * as sdk from '@synkey/sdk';
import { type ChatMessage, type Conversation, ConvKind, createClient, type SynkeyClient } from '@synkey/sdk';

const params = new URLSearchParams(location.search);
const user = params.get('user') ?? 'alice';
const runtime = (params.get('runtime') ?? 'auto') as 'auto' | 'shared-worker' | 'worker' | 'main';
const storage = params.get('storage') === 'memory' ? 'memory' : undefined;
/** `?sendBudgetMs=N` shortens the time a message may stay unsent before it is `failed` (for trying the retry path). */
const budget = Number(params.get('sendBudgetMs') ?? 0);
/** The chat server; by default the one that serves this page. */
const server = params.get('server') ?? location.origin;

async function getToken(): Promise<string> {
  const res = await fetch(`${server}/dev/token?user=${encodeURIComponent(user)}`);
  if (!res.ok) throw new Error(`token request failed: ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}

const client: SynkeyClient = createClient({
  server,
  getToken,
  runtime,
  ...(storage ? { storage } : {}),
  ...(budget > 0 ? { sendPolicy: { budgetMs: budget, ackTimeoutMs: Math.min(budget, 10_000) } } : {}),
  client: 'synkey-demo-sdk',
});
// Handles for the end-to-end tests and for trying the API from the console.
Object.assign(window, { synkey: client, synkeySdk: sdk });

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
$('me').textContent = user;

let current: number | undefined;
let stopThread: (() => void) | undefined;
let conversations: Conversation[] = [];

client.watchState((state) => {
  $('state').textContent = state;
  client.info().then((info) => {
    $('storage').textContent = info.storage;
    $('runtime').textContent = `${client.runtime}${info.owner ? ' (owns the connection)' : ''}`;
  });
});

function title(conv: Conversation): string {
  if (conv.title) return conv.title;
  return (
    conv.members
      .map((m) => m.user)
      .filter((u) => u !== user)
      .join(', ') || user
  );
}

client.watchConversations((list) => {
  conversations = list;
  const ul = $('convs');
  ul.replaceChildren(
    ...list.map((conv) => {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.type = 'button';
      b.dataset.conv = String(conv.id);
      b.setAttribute('aria-current', String(conv.id === current));
      b.textContent = title(conv);
      if (conv.unread > 0) {
        const badge = document.createElement('span');
        badge.className = 'unread';
        badge.textContent = String(conv.unread);
        badge.setAttribute('aria-label', `${conv.unread} unread`);
        b.append(badge);
      }
      b.addEventListener('click', () => open(conv.id));
      li.append(b);
      return li;
    }),
  );
});

const LABEL: Record<ChatMessage['state'], string> = {
  sending: 'Sending…',
  sent: '✓ Sent',
  delivered: '✓✓ Delivered',
  read: '✓✓ Read',
  failed: '! Failed',
};

function renderMessage(m: ChatMessage): HTMLLIElement {
  const li = document.createElement('li');
  const mine = m.sender === user;
  li.className = mine ? 'mine' : 'theirs';
  li.dataset.state = m.state;
  if (m.cmid) li.dataset.cmid = m.cmid;
  const text = document.createElement('span');
  text.className = 'text';
  text.textContent = mine ? (m.text ?? '') : `${m.sender}: ${m.text ?? ''}`;
  li.append(text);
  if (mine) {
    const state = document.createElement('span');
    state.className = `state ${m.state}`;
    state.textContent = LABEL[m.state];
    li.append(state);
    if (m.state === 'failed' && m.cmid) {
      const cmid = m.cmid;
      const retry = document.createElement('button');
      retry.type = 'button';
      retry.textContent = 'Retry';
      retry.addEventListener('click', () => void client.retry(cmid));
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.textContent = 'Delete';
      remove.addEventListener('click', () => void client.remove(cmid));
      li.append(retry, remove);
    }
  }
  return li;
}

function open(conv: number): void {
  current = conv;
  stopThread?.();
  const record = conversations.find((c) => c.id === conv);
  $('title').textContent = record ? title(record) : `Conversation ${conv}`;
  for (const b of document.querySelectorAll<HTMLButtonElement>('#convs button')) {
    b.setAttribute('aria-current', String(b.dataset.conv === String(conv)));
  }
  $<HTMLTextAreaElement>('text').disabled = false;
  $<HTMLButtonElement>('send').disabled = false;
  stopThread = client.watchMessages(conv, (messages) => {
    const thread = $('thread');
    thread.replaceChildren(...messages.map(renderMessage));
    thread.scrollTop = thread.scrollHeight;
    if (document.visibilityState === 'visible') void client.markRead(conv);
  });
}

$('new-conv').addEventListener('submit', async (e) => {
  e.preventDefault();
  const input = $<HTMLInputElement>('peer');
  const peer = input.value.trim();
  if (!peer) return;
  const conv = await client.createConversation({ kind: ConvKind.Direct, members: [peer] });
  input.value = '';
  open(conv.id);
});

$('composer').addEventListener('submit', (e) => {
  e.preventDefault();
  const box = $<HTMLTextAreaElement>('text');
  const text = box.value;
  if (current === undefined || text.trim() === '') return;
  box.value = '';
  void client.send(current, { text });
});

$('text').addEventListener('keydown', (e) => {
  const k = e as KeyboardEvent;
  if (k.key === 'Enter' && !k.shiftKey) {
    k.preventDefault();
    $<HTMLFormElement>('composer').requestSubmit();
  }
});
