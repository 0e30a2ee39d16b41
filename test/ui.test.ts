// The page at / in headless Chromium: paste, submit, watch it live, read why
// files failed, retry them, take the zip.
import assert from 'node:assert/strict'
import { mkdir } from 'node:fs/promises'
import { before, describe, it } from 'node:test'
import { noChromium, withBrowser } from './helpers/browser.js'
import type { Origin } from '../testkit/origin.js'
import { withService, notInFastRun } from '../testkit/service.js'

const OUTPUT = 'test-output'

describe('web page', { skip: notInFastRun || noChromium }, () => {
  let origin: Origin
  let base: string

  const service = withService('ui', { API_KEYS: 'ui-key', RETRY_MAX_ATTEMPTS: '2' }, { listen: true })

  before(async () => {
    ;({ origin, base } = service)
    await mkdir(OUTPUT, { recursive: true })
  })
  const browser = withBrowser()

  it('submits a pasted list, shows live progress and reasons, retries the failed files', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } })
    await page.goto(`${base}/`)
    const lines = Array.from({ length: 10 }, (_, i) =>
      i < 8
        ? origin.url(`ui-${i}.jpg`, { size: 60_000, rate: 120_000, Signature: 'SECRET' })
        // Fail both attempts of the first run, then work: the origin is "fixed" by the time of the retry.
        : `broken-${i}.jpg ${origin.url(`ui-${i}`, { size: 20_000, fail: 503, times: 2 })}`,
    )
    // No key yet: the page asks for one, once, as it first lists the tasks.
    await page.getByLabel('This service needs a key').fill('ui-key')
    await page.getByRole('button', { name: 'Use this key' }).click()
    // With no task yet, the form is open.
    await page.getByLabel('Files: one URL per line').fill(lines.join('\n'))
    await page.getByRole('button', { name: 'Download', exact: true }).click()

    const counts = page.locator('#overall-counts')
    const state = page.locator('#detail-state')
    await counts.filter({ hasText: '8 done · 0 active · 0 waiting · 2 failed of 10' }).waitFor({ timeout: 20_000 })
    await assert.doesNotReject(page.getByText('The server answered 503 (unavailable)').first().waitFor())
    await state.filter({ hasText: 'partial' }).waitFor({ timeout: 5_000 })
    assert.ok(!(await page.content()).includes('SECRET'), 'no query string on the page')
    await page.screenshot({ path: `${OUTPUT}/ui-partial.png`, fullPage: true })

    await page.getByRole('button', { name: 'Retry 2 failed' }).click()
    await counts.filter({ hasText: '10 done · 0 active · 0 waiting · 0 failed of 10' }).waitFor({ timeout: 20_000 })
    await state.filter({ hasText: 'completed' }).waitFor({ timeout: 5_000 })
    assert.equal(await page.getByRole('link', { name: 'Download zip' }).count(), 1)
    await page.screenshot({ path: `${OUTPUT}/ui-completed.png`, fullPage: true })
  })
})
