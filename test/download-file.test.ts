// downloadFile against the real test origin and the real filesystem.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { Agent, Dispatcher } from 'undici'
import { createDownloadAgent } from '../src/download/dispatcher.js'
import { downloadFile, type DownloadPolicy } from '../src/download/download-file.js'
import { createAddressPolicy } from '../src/net/address-policy.js'
import { startOrigin, type Origin } from './helpers/origin.js'

const policy: DownloadPolicy = {
  maxAttempts: 3,
  baseDelayMs: 200,
  maxDelayMs: 200,
  maxBytes: 1024 ** 3,
  minSpeedBytes: 0,
  minSpeedWindowMs: 10_000,
}

describe('downloadFile', () => {
  let origin: Origin
  let agent: Agent
  let dispatcher: Dispatcher
  let dir: string

  before(async () => {
    origin = await startOrigin()
    ;({ agent, dispatcher } = createDownloadAgent({
      policy: createAddressPolicy({ allowedCidrs: ['127.0.0.0/8', '::1/128'], allowedHosts: [] }),
      connectTimeoutMs: 5_000,
      idleTimeoutMs: 5_000,
    }))
    dir = await mkdtemp(join(tmpdir(), 'batchdl-download-file-'))
  })
  after(async () => {
    await agent.close()
    await origin.close()
    await rm(dir, { recursive: true, force: true })
  })

  const request = (name: string, params: Record<string, string | number>) => ({
    url: origin.url(name, params),
    dest: join(dir, name),
    tmp: join(dir, `${name}.part`),
    signal: new AbortController().signal,
    progress: { attempt: 0, bytes: 0 },
    mayHavePartial: false,
  })

  it('fails a 206 to a request for the whole file as range_mismatch, dropping the body it will not read', async () => {
    const outcome = await downloadFile(dispatcher, policy, request('badrange.bin', { size: 2048, badrange: 1 }))
    assert.equal(outcome.state, 'failed')
    assert.equal(outcome.error, 'range_mismatch')
    assert.equal(outcome.attempts, policy.maxAttempts)
  })
})
