import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasLocale, I18n, loadLocale, pickLocale } from '../src/i18n';

test('pickLocale maps any zh tag to zh-CN, any ko tag to ko and everything else to English', () => {
  assert.deepEqual(['zh', 'zh-TW', 'ZH-hans', 'ko-KR', 'ko', 'en-GB', 'fr', '', null, undefined].map(pickLocale), [
    'zh-CN',
    'zh-CN',
    'zh-CN',
    'ko',
    'ko',
    'en',
    'en',
    'en',
    'en',
    'en',
  ]);
});

test('a locale speaks English until its strings are loaded, then its own language', async () => {
  assert.equal(hasLocale('ko-KR'), false);
  const before = new I18n('ko-KR');
  assert.equal(before.locale, 'en');
  assert.equal(before.t('send'), 'Send');
  const ko = await loadLocale('ko-KR');
  assert.equal(ko.locale, 'ko');
  assert.equal(hasLocale('ko'), true);
  assert.notEqual(ko.t('send'), 'Send');
  assert.equal(new I18n('ko').t('send'), ko.t('send'));
  assert.equal(hasLocale('en'), true);
  assert.equal((await loadLocale('fr')).locale, 'en');
});
