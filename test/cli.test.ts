// The command line against a real server: exit codes, summary, --json.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { parseFileList } from '../src/cli/file-list.js'
import type { Origin } from './helpers/origin.js'
import { startHarness, type Harness } from './helpers/service.js'

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr })
    })
  })
}

describe('CLI', () => {
  let origin: Origin
  let base: string
  let work: string

  let harness: Harness

  before(async () => {
    ;({ origin, base } = harness = await startHarness('cli', { API_KEYS: 'cli-key' }))
    work = await mkdtemp(join(tmpdir(), 'batchdl-cli-'))
  })
  after(async () => {
    await harness.close()
    await rm(work, { recursive: true, force: true })
  })

  it('parses URL lines, "name URL" lines, CSV and JSON lists', () => {
    assert.deepEqual(parseFileList('https://h/a/cat.jpg?x=1\n# comment\nmy dog https://h/d.png\n', 'lines'), [
      { fn: 'cat.jpg', url: 'https://h/a/cat.jpg?x=1' },
      { fn: 'my dog', url: 'https://h/d.png' },
    ])
    assert.deepEqual(parseFileList('fn,url\na.jpg,https://h/a\n,https://h/b.png\n', 'csv'), [
      { fn: 'a.jpg', url: 'https://h/a' },
      { fn: 'b.png', url: 'https://h/b.png' },
    ])
    assert.deepEqual(parseFileList('{"task_id":"x","task_info":[{"fn":"a","url":"https://h/a"}]}', 'json'), [{ fn: 'a', url: 'https://h/a' }])
  })

  it('submits and watches a list; exits 1 with a summary of what failed', async () => {
    const list = join(work, 'list.txt')
    await writeFile(list, [origin.url('cli-a.jpg', { size: 1000 }), `second ${origin.url('cli-b', { size: 2000 })}`, origin.url('cli-gone.png', { status: 404 })].join('\n'))
    const auth = { BATCHDL_URL: base, BATCHDL_API_KEY: 'cli-key' }
    const watched = await cli(['submit', list, '--task-id', 'fromcli', '--watch', '--json'], auth)
    assert.equal(watched.code, 1, watched.stderr)
    const status = JSON.parse(watched.stdout) as { state: string; totals: { done: number; failed: number }; files: { saved_as: string }[] }
    assert.equal(status.state, 'partial')
    assert.deepEqual(status.totals, { files: 3, done: 2, failed: 1, bytes_done: 3000 })
    assert.deepEqual(status.files.map((f) => f.saved_as), ['cli-a.jpg', 'second', 'cli-gone.png'])

    const text = await cli(['status', 'fromcli'], auth)
    assert.equal(text.code, 1)
    assert.match(text.stdout, /^fromcli: partial, 2 of 3 done, 1 failed/)
    assert.match(text.stdout, /failed cli-gone\.png: http_error \(HTTP 404\) after 1 attempt/)

    const cancelled = await cli(['cancel', 'fromcli', '--json'], auth)
    assert.equal(cancelled.code, 0, cancelled.stderr)
    assert.equal((JSON.parse(cancelled.stdout) as { state: string }).state, 'partial', 'an ended task stays as it is')

    const zip = join(work, 'out.zip')
    const archived = await cli(['archive', 'fromcli', '-o', zip], auth)
    assert.equal(archived.code, 0, archived.stderr)
    assert.ok((await stat(zip)).size > 3000)
  })

  it('exits 0 when every file is done, and 2 on an API error', async () => {
    const list = join(work, 'ok.txt')
    await writeFile(list, origin.url('cli-ok.bin', { size: 10 }))
    const auth = { BATCHDL_URL: base, BATCHDL_API_KEY: 'cli-key' }
    const ok = await cli(['submit', list, '--watch'], auth)
    assert.equal(ok.code, 0, ok.stderr)
    assert.match(ok.stdout, /completed, 1 of 1 done, 0 failed/)
    const denied = await cli(['status', 'fromcli'], { BATCHDL_URL: base })
    assert.equal(denied.code, 2)
    assert.match(denied.stderr, /401 unauthorized/)
    assert.equal((await cli([], {})).code, 2)
  })
})
