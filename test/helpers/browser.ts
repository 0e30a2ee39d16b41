import { existsSync } from 'node:fs'
import { after, before } from 'node:test'
import type { Browser, Page } from 'playwright-core'

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

/** What withBrowser gives a suite: pages of one browser, launched before its tests and closed after them. */
export interface BrowserFixture {
  newPage(options?: Parameters<Browser['newPage']>[0]): Promise<Page>
}

/** Chromium for the tests of one suite; call it in a describe body, as withService. */
export function withBrowser(): BrowserFixture {
  let browser: Browser | null = null
  before(async () => {
    browser = await launchChromium()
  })
  after(async () => {
    await browser?.close()
  })
  return { newPage: (options) => browser!.newPage(options) }
}
