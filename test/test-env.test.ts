// The per-file test environment leaves nothing in the temporary folder: the
// download folder it makes is removed by cleanEnv, and it makes none when
// the test names its own (the disk-full case, the bench). A suite's own
// setup joins its environment and is stopped after it, even when the start fails.
import assert from 'node:assert/strict'
import { readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { describe, it } from 'node:test'
import { cleanEnv, startService, testEnv } from '../testkit/service.js'

const foldersNamed = async (name: string) => (await readdir(tmpdir())).filter((f) => f.startsWith(`batchdl-${name}-`))

describe('test environment', () => {
  it('makes a download folder only when none is named, and cleanEnv removes the one it made', async () => {
    const named = await testEnv('envcheck-named', { DOWNLOAD_DIR: join(tmpdir(), 'batchdl-envcheck-elsewhere') })
    assert.equal(named.DOWNLOAD_DIR, join(tmpdir(), 'batchdl-envcheck-elsewhere'))
    assert.deepEqual(await foldersNamed('envcheck-named'), [])

    const made = await testEnv('envcheck-made')
    assert.deepEqual(await foldersNamed('envcheck-made'), [basename(made.DOWNLOAD_DIR!)])
    await cleanEnv(made)
    assert.deepEqual(await foldersNamed('envcheck-made'), [])
  })

  it('joins a setup\'s environment, and stops the setup after the service, or when the start fails', async () => {
    const stops: string[] = []
    const setup = (env: Record<string, string>) => async () => ({ env, stop: async () => void stops.push('stopped') })
    const own = join(tmpdir(), 'batchdl-envcheck-setup')
    const started = await startService('envcheck-setup', { RETRY_MAX_ATTEMPTS: '2' }, { inProcess: 'api', setup: setup({ DOWNLOAD_DIR: own, RETRY_MAX_ATTEMPTS: '7' }) })
    assert.equal(started.env.DOWNLOAD_DIR, own)
    assert.equal(started.svc.config.RETRY_MAX_ATTEMPTS, 7, 'the setup\'s value wins')
    await started.close()
    assert.deepEqual(stops, ['stopped'])

    // A configuration the service refuses: the start fails, and leaves nothing behind.
    const failing = startService('envcheck-fails', { MAX_CONCURRENT_DOWNLOADS: 'many' }, { inProcess: 'api', setup: setup({}) })
    await assert.rejects(failing, /MAX_CONCURRENT_DOWNLOADS/)
    assert.deepEqual(stops, ['stopped', 'stopped'])
    assert.deepEqual(await foldersNamed('envcheck-fails'), [], 'its download folder removed')
  })
})
