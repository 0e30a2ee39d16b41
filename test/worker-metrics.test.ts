// A ROLE=worker process serves its own /metrics on METRICS_PORT.
import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import { freePort } from '../testkit/free-port.js'
import { withService, notInFastRun } from '../testkit/service.js'

describe('worker metrics port', { skip: notInFastRun }, () => {
  let port: number
  const service = withService('wmetrics', { API_KEYS: 'scrape-key' }, {
    inProcess: false,
    // A fixed port of its own: the second worker below must find it taken.
    setup: async () => {
      port = await freePort()
      return { env: { METRICS_PORT: String(port) } }
    },
  })
  before(() => service.spawn('worker'))

  it('answers /metrics with the worker figures and nothing else, to a caller with a key', async () => {
    const refused = await fetch(`http://127.0.0.1:${port}/metrics`)
    assert.equal(refused.status, 401)
    assert.equal(((await refused.json()) as { error: string }).error, 'unauthorized')
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: 'Bearer scrape-key' } })
    assert.equal(res.status, 200)
    const text = await res.text()
    assert.match(text, /^batchdl_active_downloads 0$/m)
    assert.match(text, /^# TYPE batchdl_files_finished_total counter$/m)
    assert.equal((await fetch(`http://127.0.0.1:${port}/tasks`)).status, 404)
  })

  it('lets a second worker on the same host start, saying its metrics port is taken', async () => {
    const second = await service.spawn('worker')
    try {
      assert.equal(second.child.exitCode, null)
      assert.ok(
        second.logs.some((l) => l.includes('metrics port') && l.includes(String(port))),
        `no log line about the busy port: ${second.logs.join('\n')}`,
      )
      // The first worker still serves its figures.
      const scrape = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: 'Bearer scrape-key' } })
      assert.equal(scrape.status, 200)
    } finally {
      assert.equal(await second.stop(), 0)
    }
  })
})
