// Finds a Chromium for the browser tests, installing one when none is there: Debian's package
// when we are root with apt-get (Playwright cannot download browsers on our CI), else
// Playwright's own download. Prints the executable path (empty for Playwright's default).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const SYSTEM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

async function playwrightChromium() {
  try {
    const { chromium } = await import('playwright-core').then((m) => m.default ?? m);
    const path = chromium.executablePath();
    return existsSync(path) ? path : null;
  } catch {
    return null;
  }
}

/** The Chromium executable to use, or '' when Playwright's own browser should be used. */
export async function findBrowser() {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  const system = SYSTEM.find((p) => existsSync(p));
  if (system) return system;
  if (await playwrightChromium()) return '';
  const root = process.getuid?.() === 0;
  if (root && existsSync('/usr/bin/apt-get')) {
    console.log('installing chromium with apt-get…');
    try {
      execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
      execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'inherit' });
      if (existsSync('/usr/bin/chromium')) return '/usr/bin/chromium';
    } catch {
      console.log('apt-get could not install chromium; trying Playwright');
    }
  }
  execFileSync('npx', ['playwright', 'install', 'chromium'], { stdio: 'inherit' });
  return '';
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await findBrowser());
