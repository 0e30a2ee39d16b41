// A task of 10,000 files is taken without stalling the process: naming is
// linear, so the submit does not hold the event loop.
import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import { withService, type InProcessService, notInFastRun } from '../testkit/service.js'

describe('a submit of 10,000 files', { skip: notInFastRun }, () => {
  let svc: InProcessService
  let base: string

  const service = withService('bigsubmit', {}, { inProcess: 'api' })
  before(async () => {
    ;({ svc } = service)
    base = await svc.app.listen({ port: 0, host: '127.0.0.1' })
  })

  it('answers 202 for 10,000 equal long names while /health/live stays live', async () => {
    const fn = `${'n'.repeat(240)}.jpg`
    const task_info = Array.from({ length: 10_000 }, (_, i) => ({ fn, url: `https://oss.example.com/img/${i}.jpg` }))
    const submit = fetch(`${base}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ task_id: 'same-names', task_info }),
    })
    // Asked while the submit is being handled; before the fix this waited 17 to 66 s.
    const asked = performance.now()
    const live = await fetch(`${base}/health/live`, { signal: AbortSignal.timeout(5_000) })
    const waitedMs = performance.now() - asked
    assert.equal(live.status, 200)
    assert.ok(waitedMs < 1_000, `/health/live answered after ${waitedMs.toFixed(0)} ms`)
    const res = await submit
    assert.equal(res.status, 202)
    const status = await svc.app.inject({ method: 'GET', url: '/tasks/same-names' })
    const names = (status.json() as { files: { saved_as: string }[] }).files.map((f) => f.saved_as)
    assert.equal(new Set(names).size, 10_000)
  })
})
