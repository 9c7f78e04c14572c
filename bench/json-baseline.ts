import type { Message } from '@synkey/protocol';

/** A message as a typical JSON-over-WebSocket chat protocol sends it: the baselines' format. */
export function jsonMessage(m: Message) {
  return {
    id: String(m.id),
    conversation_id: String(m.conv),
    sender_id: m.sender,
    seq: m.convSeq,
    created_at: new Date(m.ts).toISOString(),
    type: 'text',
    text: m.text,
  };
}

/** The event that carries a new message in that protocol. */
export function jsonEvent(m: Message) {
  return { type: 'message.new', message: jsonMessage(m) };
}
