// The operators' page in headless Chromium against the real service and a
// throttled origin: the task list, honest bars, cancel, purge, retry, a phone's
// width, and a 10,000-file task followed with a number of requests that does
// not grow with its files.
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { before, describe, it } from 'node:test'
import type { Page } from 'playwright-core'
import { noChromium, withBrowser } from './helpers/browser.js'
import type { Origin } from '../testkit/origin.js'
import { notInFastRun, waitFor, withService } from '../testkit/service.js'

describe('the page', { skip: notInFastRun || noChromium }, () => {
  let origin: Origin
  let base: string
  const harness = withService('page', { RETRY_MAX_ATTEMPTS: '2' }, { listen: true })

  before(async () => {
    ;({ origin, base } = harness)
  })
  const browser = withBrowser()

  async function submit(task_id: string, task_info: { fn: string; url: string }[]) {
    const res = await fetch(`${base}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ task_id, task_info }) })
    assert.equal(res.status, 202, await res.text())
  }

  async function open(hash = '', viewport = { width: 1280, height: 900 }): Promise<Page> {
    const page = await browser.newPage({ viewport })
    page.on('pageerror', (err) => assert.fail(`page error: ${err.message}`))
    await page.goto(`${base}/${hash}`)
    return page
  }


  it('lists a task submitted over REST and shows it when chosen', async () => {
    await submit('rest-listed', [{ fn: 'one.bin', url: origin.url('listed-1', { size: 2000 }) }])
    await submit('rest-newer', [{ fn: 'two.bin', url: origin.url('listed-2', { size: 2000 }) }])
    const page = await open()
    const row = page.locator('.task-row', { hasText: 'rest-listed' })
    await row.waitFor()
    const ids = await page.locator('.task-row .task-id').allTextContents()
    assert.ok(ids.indexOf('rest-newer') < ids.indexOf('rest-listed'), `newest first: ${ids.join(', ')}`)
    await row.click()
    await page.locator('#detail-id', { hasText: 'rest-listed' }).waitFor()
    await page.locator('#detail-state.completed').waitFor()
    assert.equal(await page.locator('.file .fname').first().textContent(), 'one.bin')
    assert.match(page.url(), /#task=rest-listed$/)
    await page.close()
  })

  it('fits a 390 px phone: no sideways scroll, long names cut with an ellipsis', async () => {
    const long = `${'a-very-long-product-photo-name-'.repeat(6)}.jpg`
    await submit('phone-width-task-with-a-long-identifier', [
      { fn: long, url: origin.url('phone-1', { size: 400_000, rate: 100_000 }) },
      { fn: 'gone.jpg', url: origin.url('phone-2', { status: 404 }) },
    ])
    const page = await open('#task=phone-width-task-with-a-long-identifier', { width: 390, height: 844 })
    await page.locator('.file.failed').waitFor()
    await page.locator('.file', { hasText: 'a-very-long' }).waitFor()
    const { scrollWidth, name } = await page.evaluate(() => {
      const el = [...document.querySelectorAll('.fname')].find((n) => n.textContent!.startsWith('a-very-long'))!
      const style = getComputedStyle(el)
      return {
        scrollWidth: document.documentElement.scrollWidth,
        name: { overflow: style.textOverflow, lines: el.getBoundingClientRect().height / parseFloat(style.lineHeight || '20'), cut: el.scrollWidth > el.clientWidth },
      }
    })
    assert.ok(scrollWidth <= 390, `scrollWidth ${scrollWidth}`)
    assert.equal(name.overflow, 'ellipsis')
    assert.ok(name.cut, 'the long name is cut, not wrapped into pieces')
    assert.ok(name.lines < 1.5, `the name takes ${name.lines} lines`)
    await page.close()
  })

  it('never draws a file full while it downloads', async () => {
    await submit('throttled', [{ fn: 'slow.bin', url: origin.url('throttle-1', { size: 800_000, rate: 120_000 }) }])
    await waitFor(async () => {
      const status = (await (await fetch(`${base}/tasks/throttled`)).json()) as { files: { state: string; bytes: number }[] }
      return status.files[0]!.state === 'downloading' && status.files[0]!.bytes > 0 ? true : undefined
    }, 10_000, 'the file downloading')
    const page = await open('#task=throttled')
    await page.locator('.file.downloading').waitFor()
    const seen: string[] = []
    for (let i = 0; i < 8; i++) {
      if (i > 0) await page.waitForTimeout(250)
      const bars = await page.evaluate(() =>
        [...document.querySelectorAll<HTMLProgressElement>('.file.downloading progress')].map((p) => ({ determinate: p.hasAttribute('value'), value: p.value, max: p.max })),
      )
      if (bars.length === 0) continue
      seen.push(JSON.stringify(bars))
      assert.ok(bars.every((b) => !b.determinate || b.value < b.max), `a bar full before the end: ${seen.join(' ')}`)
    }
    assert.ok(seen.length >= 1, 'the bar was seen while the file downloaded')
    // The size is known from Content-Length while the file downloads: a bar with a value, short of full.
    assert.ok(seen.some((s) => s.includes('"determinate":true')), `no measured bar: ${seen.join(' ')}`)
    await page.locator('#detail-state.completed').waitFor({ timeout: 15_000 })
    const done = await page.locator('.file.done progress').evaluate((p: HTMLProgressElement) => p.value === p.max)
    assert.ok(done, 'full once done')
    await page.close()
  })

  it('cancels and purges from the page, keeping focus and saying only the state changes', async () => {
    await submit('to-cancel', Array.from({ length: 3 }, (_, i) => ({ fn: `c${i}.bin`, url: origin.url(`cancel-${i}`, { size: 2_000_000, rate: 100_000 }) })))
    const page = await open('#task=to-cancel')
    await page.locator('.file.downloading').first().waitFor()
    await page.locator('#cancel').focus()
    await page.keyboard.press('Enter')
    await page.locator('#detail-state.cancelled').waitFor({ timeout: 10_000 })
    const focused = await page.evaluate(() => document.activeElement?.id || document.activeElement?.tagName)
    assert.ok(focused && focused !== 'BODY', `focus was lost (${focused})`)
    await waitFor(async () => ((await page.locator('#announce').textContent())?.includes('ended cancelled') ? true : undefined), 5000, 'the end announced')
    assert.equal(await page.locator('[aria-live]').count(), 1, 'one live region')

    page.once('dialog', (d) => void d.accept())
    await page.locator('#purge').click()
    await waitFor(async () => ((await fetch(`${base}/tasks/to-cancel`)).status === 404 ? true : undefined), 5000, 'the task purged')
    await page.locator('.task-row', { hasText: 'to-cancel' }).waitFor({ state: 'detached' })
    assert.ok(await page.locator('#detail').isHidden())
    await page.close()
  })

  it('offers Retry only for files a retry could fix, and keeps focus after it', async () => {
    await submit('not-retryable', [{ fn: 'missing.jpg', url: origin.url('nr-1', { status: 404 }) }])
    await submit('retryable', [
      { fn: 'missing.jpg', url: origin.url('r-1', { status: 404 }) },
      { fn: 'busy.jpg', url: origin.url('r-2', { fail: 503, times: 3 }) },
    ])
    const page = await open('#task=not-retryable')
    await page.locator('#detail-state.failed').waitFor()
    assert.equal(await page.locator('.file.failed .fstate').textContent(), 'The server answered 404 (not found)')
    assert.ok(await page.locator('#retry').isHidden(), 'no retry for a 404')

    await page.locator('.task-row', { hasText: /^retryable/ }).click()
    await page.locator('#detail-id', { hasText: 'retryable' }).waitFor()
    await page.locator('#detail-state.failed, #detail-state.partial').waitFor({ timeout: 10_000 })
    await page.locator('#file-filter [data-filter="failed"]').click()
    assert.equal(await page.locator('.file').count(), 2)
    assert.equal(await page.locator('#retry').textContent(), 'Retry 1 failed')
    await page.locator('#retry').click()
    await page.locator('#detail-state.partial').waitFor({ timeout: 10_000 })
    assert.equal(await page.locator('.file.failed').count(), 1, 'the 503 file went through on the retry')
    const focused = await page.evaluate(() => document.activeElement?.closest('.actions, #detail-title') !== null)
    assert.ok(focused, 'focus stays on the task actions')

    const zip = page.locator('#zip')
    assert.equal(await zip.textContent(), 'Download zip + report')
    assert.match((await zip.getAttribute('href'))!, /\/tasks\/retryable\/archive\?report=1$/)
    const [saved] = await Promise.all([page.waitForEvent('download'), zip.click()])
    const bytes = await readFile((await saved.path())!)
    assert.equal(bytes.subarray(0, 2).toString(), 'PK', 'a zip')
    assert.ok(bytes.includes('REPORT.txt'), 'with the report of the missing file')
    await page.close()
  })

  it('filters the list by state and loads more than a page', async () => {
    for (let i = 0; i < 32; i++) await submit(`many-${String(i).padStart(2, '0')}`, [{ fn: 'x.jpg', url: origin.url(`many-${i}`, { status: 404 }) }])
    const page = await open('#task=many-31')
    await page.locator('.task-row', { hasText: 'many-31' }).waitFor()
    assert.equal(await page.locator('.task-row').count(), 30, 'a page of 30')
    await page.locator('#more-tasks').click()
    await page.locator('.task-row', { hasText: 'many-00' }).waitFor()
    assert.ok(await page.evaluate(() => document.activeElement?.classList.contains('task-row')), 'focus on the first task added')
    const ended = async (id: string) => ((await (await fetch(`${base}/tasks/${id}?files=none`)).json()) as { state: string }).state === 'failed'
    await waitFor(async () => ((await ended('many-31')) ? true : undefined), 10_000, 'many-31 ended')
    await page.selectOption('#state-filter', 'completed')
    await page.locator('.task-row', { hasText: 'many-' }).first().waitFor({ state: 'detached' })
    const completed = await page.locator('.task-row .badge').allTextContents()
    assert.ok(completed.every((s) => s === 'completed'), completed.join(', '))
    await page.selectOption('#state-filter', 'partial,failed')
    await page.locator('.task-row', { hasText: 'many-31' }).waitFor()
    const failed = await page.locator('.task-row .badge').allTextContents()
    assert.ok(failed.every((s) => s === 'failed' || s === 'partial'), failed.join(', '))
    await page.close()
  })

  it('follows a 10,000-file task with requests that do not grow with the files', async () => {
    const files = 10_000
    // Mostly files that fail fast (404, no retry): the service ends 10,000 of them in about 20 s here.
    const ok = (i: number) => i % 100 === 0
    await submit('ten-thousand', Array.from({ length: files }, (_, i) => ({ fn: `f${i}.txt`, url: origin.url(`tt-${i}`, ok(i) ? { size: 64 } : { status: 404 }) })))
    const page = await open()
    const requests: string[] = []
    page.on('request', (r) => requests.push(r.url().replace(base, '')))
    await page.evaluate(() => {
      const w = window as unknown as { longest: number }
      w.longest = 0
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) w.longest = Math.max(w.longest, e.duration)
      }).observe({ type: 'longtask' })
    })
    const began = performance.now()
    await page.locator('.task-row', { hasText: 'ten-thousand' }).click()
    await page.locator('#detail-state.partial').waitFor({ timeout: 60_000 })
    const seconds = (performance.now() - began) / 1000
    const rows = await page.locator('.file').count()
    const failedCount = await page.locator('#file-filter [data-filter="failed"] .n').textContent()
    const longest = await page.evaluate(() => (window as unknown as { longest: number }).longest)
    console.log(`10,000 files: ${requests.length} requests in ${seconds.toFixed(1)} s, ${rows} rows drawn, longest main-thread task ${longest.toFixed(0)} ms`)
    // A constant few (the task, its events) plus at most the polls of the clock: one a second for the files in flight, one every 3 s for the list.
    assert.ok(requests.length <= 5 + Math.ceil(seconds) * 1.5, `${requests.length} requests in ${seconds.toFixed(1)} s: ${requests.slice(0, 20).join(' ')}`)
    assert.ok(requests.length < 60, `${requests.length} requests`)
    assert.ok(rows <= 100, `${rows} rows in the document`)
    assert.ok(longest < 1000, `the page froze for ${longest.toFixed(0)} ms`)
    assert.equal(failedCount, String(files - files / 100))
    await page.close()
  })
})
