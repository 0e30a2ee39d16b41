// A real browser: headless Chromium follows a task with EventSource and the
// signed token of events_url, on a page of the service's own origin.
import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import { noChromium, withBrowser } from './helpers/browser.js'
import type { Origin } from '../testkit/origin.js'
import { withService, notInFastRun } from '../testkit/service.js'


describe('browser EventSource', { skip: notInFastRun || noChromium }, () => {
  let origin: Origin
  let base: string

  const service = withService('browser', { API_KEYS: 'browser-test-key' }, { listen: true })

  before(async () => {
    ;({ origin, base } = service)
  })
  const browser = withBrowser()

  it('sees every file event and end with the token alone', async () => {
    const task_info = Array.from({ length: 8 }, (_, i) => ({ fn: `b${i}.jpg`, url: origin.url(`browser-${i}`, { size: 30_000, rate: 150_000 }) }))
    const res = await fetch(`${base}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer browser-test-key' },
      body: JSON.stringify({ task_id: 'inbrowser', task_info }),
    })
    assert.equal(res.status, 202)
    const { events_url } = (await res.json()) as { events_url: string }

    const page = await browser.newPage()
    const home = await page.goto(`${base}/health/live`)
    assert.equal(home?.status(), 200)
    const seen = await page.evaluate(
      (url) =>
        new Promise<{ files: string[]; end: unknown }>((resolve, reject) => {
          const files: string[] = []
          const es = new EventSource(url)
          es.addEventListener('file', (e) => files.push(JSON.parse((e as MessageEvent).data).fn))
          es.addEventListener('end', (e) => {
            es.close()
            resolve({ files, end: JSON.parse((e as MessageEvent).data) })
          })
          setTimeout(() => reject(new Error(`no end; files so far: ${files.join(',')}`)), 15_000)
        }),
      events_url,
    )
    assert.deepEqual(seen.files.sort(), task_info.map((f) => f.fn).sort())
    assert.deepEqual(seen.end, { state: 'completed', totals: { files: 8, done: 8, failed: 0, bytes_done: 240_000, bytes_total: 240_000, speed: 0, eta_s: null } })

    const without = await page.evaluate(async (url) => (await fetch(url.split('?')[0]!)).status, events_url)
    assert.equal(without, 401, 'the stream needs the token or a key')
  })
})
