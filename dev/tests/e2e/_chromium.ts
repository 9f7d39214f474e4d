// Debian's Chromium for the e2e suite and the web benchmark. Installed with apt-get when missing
// and we are root; playwright-core never downloads a browser.
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

async function exists(p: string) {
  return await Deno.stat(p).then(() => true, () => false);
}

export async function ensureChromium(): Promise<string> {
  if (await exists(CHROMIUM)) return CHROMIUM;
  if (Deno.uid() !== 0) {
    throw new Error(`${CHROMIUM} is missing: run as root \`apt-get install -y chromium\``);
  }
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', 'chromium']]) {
    const out = await new Deno.Command('apt-get', {
      args,
      env: { DEBIAN_FRONTEND: 'noninteractive' },
      stdout: 'piped',
      stderr: 'piped',
    }).output();
    if (!out.success) {
      throw new Error(`apt-get ${args.join(' ')} failed: ${new TextDecoder().decode(out.stderr)}`);
    }
  }
  if (!(await exists(CHROMIUM))) throw new Error('apt-get installed chromium but it is not there');
  return CHROMIUM;
}

/**
 * Headless Chromium. Every launch gets a fresh profile: playwright passes its own new temporary
 * --user-data-dir (it refuses one in `args`) and removes it on close.
 */
export async function launchChromium(): Promise<{ browser: Browser; stop: () => Promise<void> }> {
  const executablePath = await ensureChromium();
  const browser = await chromium.launch({
    executablePath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    browser,
    stop: async () => {
      await browser.close().catch(() => {});
    },
  };
}
