// The operators' page in headless Chromium, live: with API keys (asked once,
// then sent with the task's event stream), and during a retry's backoff.
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { describe, it } from 'node:test'
import { noChromium, withBrowser } from './helpers/browser.js'
import { notInFastRun, waitFor, withService } from '../testkit/service.js'

describe('the page with API keys', { skip: notInFastRun || noChromium }, () => {
  const harness = withService('page-keys', { API_KEYS: 'page-test-key' }, { listen: true })

  const browser = withBrowser()

  it('asks for the key once, then follows a task it did not submit and zips it', async () => {
    const { base, origin } = harness
    const res = await fetch(`${base}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer page-test-key' },
      body: JSON.stringify({ task_id: 'keyed', task_info: [{ fn: 'k.bin', url: origin.url('keyed-1', { size: 300_000, rate: 200_000 }) }] }),
    })
    assert.equal(res.status, 202)
    const page = await browser.newPage()
    page.on('pageerror', (err) => assert.fail(`page error: ${err.message}`))
    await page.goto(`${base}/#task=keyed`)
    await page.locator('#key-dialog[open]').waitFor()
    await page.fill('#key', 'page-test-key')
    await page.click('#key-form button')
    // Followed over the events stream with the key in a header: the end arrives without a reload.
    await page.locator('#detail-state.completed').waitFor({ timeout: 15_000 })
    assert.equal(await page.locator('#key-dialog[open]').count(), 0, 'asked once')
    const [saved] = await Promise.all([page.waitForEvent('download'), page.click('#zip')])
    const bytes = await readFile((await saved.path())!)
    assert.equal(bytes.subarray(0, 2).toString(), 'PK')
    await page.close()
  })
})

describe('the page during a backoff', { skip: notInFastRun || noChromium }, () => {
  // Backoffs long enough to be seen.
  const harness = withService('page-backoff', { RETRY_BASE_DELAY_MS: '3000', RETRY_MAX_DELAY_MS: '5000', RETRY_MAX_ATTEMPTS: '5' }, { listen: true })

  const browser = withBrowser()

  it('shows a file waiting for its next attempt, with the attempt and a countdown', async () => {
    const { base, origin } = harness
    const res = await fetch(`${base}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ task_id: 'backoff', task_info: [{ fn: 'busy.jpg', url: origin.url('backoff-1', { fail: 503, times: 3 }) }] }),
    })
    assert.equal(res.status, 202)
    const page = await browser.newPage()
    page.on('pageerror', (err) => assert.fail(`page error: ${err.message}`))
    await page.goto(`${base}/#task=backoff`)
    const state = page.locator('.file.retrying .fstate')
    await state.waitFor({ timeout: 10_000 })
    const text = () => page.evaluate(() => document.querySelector('.file .fstate')!.textContent!)
    const first = await text()
    assert.match(first, /^Retrying · attempt [2-5] (in [1-5] s|starting)$/)
    // The countdown moves with the clock.
    await waitFor(async () => ((await text()) !== first ? true : undefined), 5000, 'the countdown to move')
    await fetch(`${base}/tasks/backoff`, { method: 'DELETE' })
    await page.locator('#detail-state.cancelled').waitFor()
    await page.close()
  })
})
