import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChatMessage } from '@synkey/sdk';
import { I18n, loadLocale } from '../src/i18n';
import { estimate } from '../src/message-bubble';
import { clock, fitBox, previewOf } from '../src/model';
import { seekBy } from '../src/voice-player';

const msg = (o: Partial<ChatMessage>): ChatMessage => ({ conv: 1, sender: 'bob', ts: 0, kind: 1, state: 'sent', ...o });

test('clock shows lengths as m:ss, rounded to the second', () => {
  assert.deepEqual([0, 499, 500, 7_000, 59_600, 90_000, 600_000].map(clock), [
    '0:00',
    '0:00',
    '0:01',
    '0:07',
    '1:00',
    '1:30',
    '10:00',
  ]);
  assert.equal(clock(Number.NaN), '0:00');
  assert.equal(clock(-5), '0:00');
});

test('fitBox keeps the aspect ratio, shrinks into 240×300, never enlarges, and keeps thin images tappable', () => {
  assert.deepEqual(fitBox(4000, 3000), { w: 240, h: 180 });
  assert.deepEqual(fitBox(1080, 1920), { w: 169, h: 300 });
  assert.deepEqual(fitBox(100, 50), { w: 100, h: 64 });
  assert.deepEqual(fitBox(120, 80), { w: 120, h: 80 });
  assert.deepEqual(fitBox(5000, 100), { w: 240, h: 64 });
  assert.deepEqual(fitBox(undefined, 10), { w: 240, h: 180 });
  assert.deepEqual(fitBox(0, 0), { w: 240, h: 180 });
});

test('conversation previews name photos and voice notes with their length, in every locale', async () => {
  const en = new I18n('en');
  assert.equal(previewOf(msg({ kind: 2, media: { id: 'a', mime: 'image/png', size: 1 } }), en), '📷 Photo');
  assert.equal(previewOf(msg({ kind: 2, text: 'sunset' }), en), '📷 sunset');
  const voice = msg({ kind: 3, media: { id: 'v', mime: 'audio/webm', size: 9, durationMs: 7_200 } });
  assert.equal(previewOf(voice, en), '🎤 Voice message (0:07)');
  assert.equal(previewOf(voice, await loadLocale('zh-CN')), '🎤 语音消息（0:07）');
  assert.equal(previewOf(voice, await loadLocale('ko')), '🎤 음성 메시지 (0:07)');
  // My unsent note: the length of the local recording.
  const local = msg({ kind: 3, local: { file: new Blob(['x']), mime: 'audio/webm', size: 1, durationMs: 65_000 } });
  assert.equal(previewOf(local, en), '🎤 Voice message (1:05)');
  assert.equal(previewOf(msg({ kind: 9 }), en), 'Unsupported message');
});

test('seekBy moves by 1 s on arrows and 5 s on Page keys, Home/End jump, and stays within the note', () => {
  assert.equal(seekBy('ArrowRight', 3_000, 7_000), 4_000);
  assert.equal(seekBy('ArrowLeft', 500, 7_000), 0);
  assert.equal(seekBy('ArrowUp', 6_500, 7_000), 7_000);
  assert.equal(seekBy('PageUp', 1_000, 7_000), 6_000);
  assert.equal(seekBy('PageDown', 1_000, 7_000), 0);
  assert.equal(seekBy('Home', 4_000, 7_000), 0);
  assert.equal(seekBy('End', 0, 7_000), 7_000);
  assert.equal(seekBy('Enter', 0, 7_000), undefined);
});

test("the thread's height guess for an image row reserves the picture's box, with its caption", () => {
  const image = (width: number, height: number, text?: string) =>
    estimate({
      key: 'k',
      first: true,
      m: msg({ kind: 2, media: { id: 'i', mime: 'image/png', size: 1, width, height }, ...(text ? { text } : {}) }),
    });
  const text = estimate({ key: 't', first: true, m: msg({ text: 'hi' }) });
  assert.equal(image(1080, 1920) - image(4000, 3000), 300 - 180);
  assert.ok(image(4000, 3000) > 180);
  assert.ok(image(4000, 3000, 'a caption') > image(4000, 3000));
  assert.ok(image(4000, 3000) > text);
});
