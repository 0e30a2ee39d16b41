import { existsSync } from 'node:fs'
import type { Browser } from 'playwright-core'

export const CHROMIUM = '/usr/bin/chromium'

/** A reason to skip browser tests, or false when Debian's Chromium is there. */
export const noChromium = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install -y chromium)`

/**
 * Headless Chromium with the flags this closed network needs. playwright-core
 * is loaded here, when a browser test runs: importing it costs about a second,
 * which test:fast, where no browser test runs, would pay in each process.
 */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core')
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  })
}
