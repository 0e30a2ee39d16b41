// The per-file test environment leaves nothing in the temporary folder: the
// download folder it makes is removed by cleanEnv, and it makes none when
// the test names its own (the disk-full case, the bench).
import assert from 'node:assert/strict'
import { readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { describe, it } from 'node:test'
import { cleanEnv, testEnv } from '../testkit/service.js'

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
})
