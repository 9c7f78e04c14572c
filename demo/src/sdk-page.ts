import * as sdk from '@synkey/sdk';
import { type ChatMessage, type Conversation, ConvKind, createClient, type SynkeyClient } from '@synkey/sdk';
import { dayLabel, preview, STATE_LABEL, timeLabel } from './sdk-format';

// A chat UI on the SDK alone: createClient(), watchConversations(), watchMessages(), send(), retry(),
// remove(), markRead(), watchState(). ?user=NAME signs in with a dev token; ?server= picks the chat
// server (default: this page's origin); ?runtime=auto|shared-worker|worker|main; ?storage=memory.
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
const el = <K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string) => {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
};
$('me').textContent = user;

let current: number | undefined;
let stopThread: (() => void) | undefined;
let conversations: Conversation[] = [];

client.watchState((state) => {
  $('state').textContent = state;
  $('state').dataset.state = state;
  client.info().then(
    (info) => {
      $('storage').textContent = info.storage;
      $('runtime').textContent = `${client.runtime}${info.owner ? ' (owns the connection)' : ''}`;
    },
    () => undefined,
  );
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

function renderConversation(conv: Conversation): HTMLLIElement {
  const li = el('li');
  const b = el('button');
  b.type = 'button';
  b.dataset.conv = String(conv.id);
  b.setAttribute('aria-current', String(conv.id === current));
  const name = title(conv);
  b.append(el('span', 'avatar', name.slice(0, 1).toUpperCase()));
  const body = el('span', 'body');
  body.append(el('span', 'name', name));
  if (conv.last) body.append(el('span', 'last', preview(conv.last)));
  b.append(body);
  if (conv.unread > 0) {
    const badge = el('span', 'unread', String(conv.unread));
    badge.setAttribute('aria-label', `${conv.unread} unread`);
    b.append(badge);
  }
  b.addEventListener('click', () => open(conv.id));
  li.append(b);
  return li;
}

client.watchConversations((list) => {
  conversations = list;
  $('convs').replaceChildren(...list.map(renderConversation));
  $('no-convs').hidden = list.length > 0;
  const shown = list.find((c) => c.id === current);
  if (shown) $('title').textContent = title(shown);
});

function renderMessage(m: ChatMessage): HTMLLIElement {
  const li = el('li');
  const mine = m.sender === user;
  li.className = mine ? 'mine' : 'theirs';
  li.dataset.state = m.state;
  if (m.cmid) li.dataset.cmid = m.cmid;
  const bubble = el('div', 'bubble');
  // `.text` reads "sender: text" for others' messages (the tests read it that way).
  const text = el('span', 'text');
  if (!mine) text.append(el('span', 'sender', `${m.sender}: `));
  text.append(preview(m));
  const meta = el('span', 'meta');
  const time = el('time', undefined, timeLabel(m.ts));
  time.dateTime = new Date(m.ts).toISOString();
  meta.append(time);
  if (mine) meta.append(el('span', `state ${m.state}`, STATE_LABEL[m.state]));
  bubble.append(text, meta);
  li.append(bubble);
  if (mine && m.state === 'failed' && m.cmid) {
    const cmid = m.cmid;
    const actions = el('div', 'actions');
    const retry = el('button', undefined, 'Retry');
    retry.type = 'button';
    retry.addEventListener('click', () => void client.retry(cmid));
    const remove = el('button', undefined, 'Delete');
    remove.type = 'button';
    remove.addEventListener('click', () => void client.remove(cmid));
    actions.append(retry, remove);
    li.append(actions);
  }
  return li;
}

/** The thread's items; the first message of each day carries the day, which the page shows above it. */
function renderThread(messages: ChatMessage[]): HTMLLIElement[] {
  let day = '';
  return messages.map((m) => {
    const li = renderMessage(m);
    const label = dayLabel(m.ts);
    if (label !== day) li.dataset.day = day = label;
    return li;
  });
}

function open(conv: number, record = conversations.find((c) => c.id === conv)): void {
  current = conv;
  stopThread?.();
  $('title').textContent = record ? title(record) : `Conversation ${conv}`;
  for (const b of document.querySelectorAll<HTMLButtonElement>('#convs button')) {
    b.setAttribute('aria-current', String(b.dataset.conv === String(conv)));
  }
  $<HTMLTextAreaElement>('text').disabled = false;
  $<HTMLButtonElement>('send').disabled = false;
  const thread = $('thread');
  thread.replaceChildren();
  $('announce').textContent = '';
  let newest: number | undefined;
  stopThread = client.watchMessages(conv, (messages) => {
    // Screen readers hear each new message from the others once, not the whole re-rendered list.
    const last = messages.findLast((m) => m.sender !== user);
    if (last && newest !== undefined && last.ts > newest) {
      $('announce').textContent = `New message from ${last.sender}: ${preview(last)}`;
    }
    newest = last?.ts ?? newest ?? 0;
    const atBottom = thread.scrollHeight - thread.scrollTop - thread.clientHeight < 40;
    thread.replaceChildren(...renderThread(messages));
    $('empty').hidden = messages.length > 0;
    if (atBottom || thread.dataset.conv !== String(conv)) thread.scrollTop = thread.scrollHeight;
    thread.dataset.conv = String(conv);
    if (document.visibilityState === 'visible') void client.markRead(conv);
  });
  $<HTMLTextAreaElement>('text').focus();
}

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && current !== undefined) void client.markRead(current);
});

$('new-conv').addEventListener('submit', async (e) => {
  e.preventDefault();
  const input = $<HTMLInputElement>('peer');
  const peer = input.value.trim();
  if (!peer) return;
  const conv = await client.createConversation({ kind: ConvKind.Direct, members: [peer] });
  input.value = '';
  open(conv.id, conv);
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
  if (k.key === 'Enter' && !k.shiftKey && !k.isComposing) {
    k.preventDefault();
    $<HTMLFormElement>('composer').requestSubmit();
  }
});
