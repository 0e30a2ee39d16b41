// The command line against a real server: exit codes, summary, --json.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { parseFileList } from '../src/cli/file-list.js'
import type { Origin } from '../testkit/origin.js'
import { withService, notInFastRun } from '../testkit/service.js'

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr })
    })
  })
}

describe('CLI', { skip: notInFastRun }, () => {
  let origin: Origin
  let base: string
  let work: string

  // Retry waits of up to 1.5 s: long enough for a watch to show one.
  const service = withService('cli', { API_KEYS: 'cli-key', RETRY_MAX_DELAY_MS: '1500' }, { listen: true })

  before(async () => {
    ;({ origin, base } = service)
    work = await mkdtemp(join(tmpdir(), 'batchdl-cli-'))
  })
  after(async () => {
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
    assert.deepEqual(status.totals, { files: 3, done: 2, failed: 1, bytes_done: 3000, bytes_total: 3000, speed: 0, eta_s: null })
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

  it('answers every usage mistake with one line naming it, exit 2, no stack trace', async () => {
    const cases: [string[], RegExp][] = [
      [[], /no command given/],
      [['foo'], /unknown command "foo"/],
      [['status', 'x', '--bogus'], /Unknown option '--bogus'/],
      [['status'], /status needs a task id/],
      [['archive', 'x'], /archive needs -o/],
    ]
    for (const [args, message] of cases) {
      const res = await cli(args)
      assert.equal(res.code, 2, args.join(' '))
      assert.match(res.stderr, message)
      assert.equal(res.stderr.trim().split('\n').length, 1, res.stderr)
      assert.doesNotMatch(res.stderr, /\bat .*\.(ts|js):\d+/, 'no stack trace')
    }
    const help = await cli(['retry', '--help'])
    assert.equal(help.code, 0)
    assert.match(help.stdout, /batchdl retry <task-id>/)
    assert.doesNotMatch(help.stdout, /batchdl submit/)
  })

  it('names the URL and BATCHDL_URL when the service cannot be reached', async () => {
    const res = await cli(['status', 'x'], { BATCHDL_URL: 'http://127.0.0.1:9' })
    assert.equal(res.code, 2)
    assert.match(res.stderr, /cannot reach batchdl at http:\/\/127\.0\.0\.1:9 .*BATCHDL_URL/)
  })

  it('lists tasks, follows one again, retries it and takes a partial zip', async () => {
    const auth = { BATCHDL_URL: base, BATCHDL_API_KEY: 'cli-key' }
    const list = join(work, 'retry.txt')
    await writeFile(list, [origin.url('cli-r1.bin', { size: 10 }), origin.url('cli-r2.bin', { fail: 404, times: 1 })].join('\n'))
    const submitted = await cli(['submit', list, '--task-id', 'again'], auth)
    assert.equal(submitted.code, 0, submitted.stderr)
    assert.match(submitted.stdout, /^again: queued, 2 files$/m, 'the id comes first')
    const watched = await cli(['watch', 'again'], auth)
    assert.equal(watched.code, 1, 'one file failed')
    const listed = await cli(['list', '--state', 'partial'], auth)
    assert.equal(listed.code, 0, listed.stderr)
    assert.match(listed.stdout, /^again\s+partial\s+1\/2 done, 1 failed/m)
    const retried = await cli(['retry', 'again', '--watch'], auth)
    assert.equal(retried.code, 0, retried.stderr)
    assert.match(retried.stdout, /again: completed, 2 of 2 done/)
    const zip = join(work, 'partial.zip')
    const archived = await cli(['archive', 'again', '-o', zip, '--partial'], auth)
    assert.equal(archived.code, 0, archived.stderr)
    assert.ok((await stat(zip)).size > 20)
  })

  it('on a terminal, prints the id first and keeps its bars within the terminal width', async () => {
    const list = join(work, 'tty.txt')
    const names = Array.from({ length: 3 }, (_, i) => `${'a-rather-long-file-name-'.repeat(3)}${i}.bin`)
    await writeFile(list, names.map((n, i) => `${n} ${origin.url(`cli-tty-${i}`, { size: 200_000, rate: 400_000 })}`).join('\n'))
    const drawn = await onTerminal(base, `submit ${list} --task-id ontty --watch`, 50)
    assert.match(drawn[0]!, /^ontty: queued, 3 files/)
    assert.ok(drawn.some((l) => l.includes('%')), 'bars were drawn')
    const wide = drawn.filter((l) => l.includes('%') && [...l].length > 50)
    assert.deepEqual(wide, [], 'bars wider than the terminal')
  })

  it('on a terminal, counts bytes with speed and time left; a file is not 100% before its end; a retry says when', async () => {
    const list = join(work, 'tty-bytes.txt')
    const lines = [0, 1, 2].map((i) => `big${i}.bin ${origin.url(`cli-bytes-${i}`, { size: 200_000, rate: 150_000 })}`)
    lines.push(`flaky.bin ${origin.url('cli-bytes-flaky', { size: 1000, fail: 503, times: 1, retryAfter: 1 })}`)
    await writeFile(list, lines.join('\n'))
    const drawn = await onTerminal(base, `submit ${list} --task-id bytes --watch`, 120)
    // The task's bar counts bytes, with the speed and the time left.
    assert.ok(drawn.some((l) => /\d+% \| 0\.\d MB of 0\.6 MB, 0\.\d MB\/s, \ds left, \d\/4 files, running/.test(l)), 'a bar of bytes with speed and ETA')
    // A file leaves the list once done: none of its lines says 100%.
    assert.deepEqual(drawn.filter((l) => /(big\d|flaky)\.bin/.test(l) && l.includes('100%')), [], 'a file at 100% before its end')
    assert.ok(drawn.some((l) => /big0\.bin 0\.\d MB of 0\.2 MB/.test(l)), 'a file\'s bytes of its size')
    assert.ok(drawn.some((l) => /wait \| flaky\.bin: HTTP 503 on attempt 1, attempt 2 in \d+s \(\d\d:\d\d:\d\d\)/.test(l)), 'the retry shown with its attempt and when')
  })
})

/** A CLI command under a pseudo-terminal `cols` wide; what it drew, cursor moves turned into line breaks. */
async function onTerminal(base: string, args: string, cols: number): Promise<string[]> {
  const command = `stty cols ${cols}; ${process.execPath} --import tsx src/cli/main.ts ${args}`
  const res = await new Promise<{ code: number; stdout: string }>((resolve) => {
    execFile('script', ['-qec', command, '/dev/null'], { env: { ...process.env, BATCHDL_URL: base, BATCHDL_API_KEY: 'cli-key' } }, (err, stdout) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout }),
    )
  })
  assert.equal(res.code, 0, res.stdout)
  // eslint-disable-next-line no-control-regex
  const screen = res.stdout.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '\n')
  return screen.split(/\r|\n/).filter((l) => l.trim() !== '')
}
