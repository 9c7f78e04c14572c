// The baseline server: a plain `ws` relay of JSON messages with no storage. A client's first message
// names it ({user}); after that {to, id, text} is forwarded to `to`'s socket as {from, id, text} and
// acknowledged to the sender as {ack: id}. Nothing is stored, checked or retried.
import { type WebSocket, WebSocketServer } from 'ws';
import './ipc';

const sockets = new Map<string, WebSocket>();
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });

wss.on('connection', (ws) => {
  let user: string | undefined;
  ws.on('message', (data) => {
    let m: { user?: unknown; to?: unknown; id?: unknown; text?: unknown };
    try {
      m = JSON.parse(String(data));
    } catch {
      ws.close(1007, 'bad json');
      return;
    }
    if (user === undefined) {
      if (typeof m.user !== 'string') return void ws.close(1008, 'say who you are first');
      user = m.user;
      sockets.set(user, ws);
      ws.send('{"ok":true}');
      return;
    }
    if (typeof m.to !== 'string') return;
    sockets.get(m.to)?.send(JSON.stringify({ from: user, id: m.id, text: m.text }));
    ws.send(JSON.stringify({ ack: m.id }));
  });
  ws.on('close', () => {
    if (user !== undefined && sockets.get(user) === ws) sockets.delete(user);
  });
});

wss.on('listening', () => {
  const { port } = wss.address() as { port: number };
  console.log(`listening on ws://127.0.0.1:${port}`);
});

process.on('SIGTERM', () => {
  wss.close();
  process.exit(0);
});
