// Regenerates docs/screenshots/*.png: the page during a run with failures, on a
// desktop (1280 px) and a phone (390 px). Needs Redis and /usr/bin/chromium:
//   npx tsx scripts/screenshots.ts
import { mkdir } from 'node:fs/promises'
import type { Page } from 'playwright-core'
import { launchChromium } from '../test/helpers/browser.js'
import { startService, waitFor } from '../testkit/service.js'

const OUT = new URL('../docs/screenshots/', import.meta.url)

const harness = await startService('screenshots', { RETRY_BASE_DELAY_MS: '8000', RETRY_MAX_DELAY_MS: '8000', MAX_CONNECTIONS_PER_TASK: '4' }, { listen: true })
const { origin, base } = harness
const browser = await launchChromium()

async function submit(task_id: string, task_info: { fn: string; url: string }[]) {
  const res = await fetch(`${base}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ task_id, task_info }) })
  if (res.status !== 202) throw new Error(`submit ${task_id}: ${res.status} ${await res.text()}`)
}
const state = async (id: string) => ((await (await fetch(`${base}/tasks/${id}?files=none`)).json()) as { state: string }).state

try {
  await submit('catalogue-2026-11', Array.from({ length: 6 }, (_, i) => ({ fn: `sku-${1000 + i}.jpg`, url: origin.url(`cat-${i}`, { size: 40_000 }) })))
  await submit('invoices-q3', [
    ...Array.from({ length: 4 }, (_, i) => ({ fn: `invoice-${i + 1}.pdf`, url: origin.url(`inv-${i}`, { size: 90_000 }) })),
    { fn: 'invoice-5.pdf', url: origin.url('inv-gone', { status: 404 }) },
  ])
  await waitFor(async () => ((await state('invoices-q3')) === 'partial' ? true : undefined), 15_000, 'the partial task')
  await submit('product-photos', [
    { fn: 'banner-old.png', url: origin.url('banner', { status: 404 }) },
    { fn: 'thumbnail-sheet.png', url: origin.url('sheet', { status: 403 }) },
    { fn: 'flaky-server.jpg', url: origin.url('flaky', { fail: 503, times: 5 }) },
    ...Array.from({ length: 10 }, (_, i) => ({ fn: `product-photo-with-a-rather-long-name-${i + 1}.jpg`, url: origin.url(`photo-${i}`, { size: 6_000_000, rate: 250_000 + i * 40_000 }) })),
    ...Array.from({ length: 6 }, (_, i) => ({ fn: `extra-${i + 1}.jpg`, url: origin.url(`extra-${i}`, { size: 2_000_000, rate: 200_000 }) })),
  ])

  const shoot = async (page: Page, name: string) => {
    page.on('console', (m) => console.log('page:', m.text()))
    page.on('pageerror', (e) => console.log('page error:', e.message))
    await page.goto(`${base}/#task=product-photos`)
    await page.waitForSelector('#detail:not([hidden])')
    await page.locator('.file.failed').nth(1).waitFor({ timeout: 15_000 }).catch(async (err: unknown) => {
      await page.screenshot({ path: '/tmp/shot-debug.png' })
      throw err
    })
    // A file between attempts shows as retrying once the service reports it (SPEC section 2).
    await page.locator('.file.retrying').first().waitFor({ timeout: 12_000 }).catch(() => undefined)
    await page.waitForTimeout(2500) // bars and speeds move a little: what a person would see
    await mkdir(OUT, { recursive: true })
    await page.screenshot({ path: new URL(name, OUT).pathname })
    console.log(`wrote docs/screenshots/${name}`)
  }
  await shoot(await browser.newPage({ viewport: { width: 1280, height: 860 } }), 'desktop.png')
  await shoot(await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true }), 'phone.png')
} finally {
  await browser.close()
  await harness.close()
}
