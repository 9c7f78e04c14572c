import { existsSync } from 'node:fs';
import { defineConfig } from '@playwright/test';

const executablePath =
  process.env.SYNKEY_CHROMIUM || ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

/** Browser tests: real Chromium, real Worker and IndexedDB, against real server processes. */
export default defineConfig({
  testDir: './tests',
  // README screenshots are written only on request (`npm run screenshots`), never by `npm test`.
  testIgnore: process.env.SYNKEY_SCREENSHOTS ? [] : ['**/screenshots.spec.ts'],
  outputDir: '../test-results',
  timeout: 120_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: process.env.CI ? 1 : 2,
  retries: 0,
  reporter: [['list']],
  use: {
    trace: 'retain-on-failure',
    launchOptions: {
      ...(executablePath ? { executablePath } : {}),
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
        '--use-fake-device-for-media-stream',
        '--use-fake-ui-for-media-stream',
        // The cross-origin embed tests serve the site and the chat server from two loopback names.
        '--disable-features=LocalNetworkAccessChecks,PrivateNetworkAccessForSubresources',
      ],
    },
  },
});
