// The figures progress is shown with, on their own: the speed meter and the CLI's bars.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { fileBar, taskBar } from '../src/cli/lines.js'
import type { FileStatus, TaskStatus } from '../src/tasks/schemas.js'
import { SpeedMeter } from '../src/worker/speed.js'

describe('speed meter', () => {
  it('reads the bytes of the last window per second, and 0 once a whole window passed without any', () => {
    const meter = new SpeedMeter(0, 3000)
    let speed = 0
    for (let t = 250; t <= 5000; t += 250) speed = meter.sample(t * 100, t) // 100 kB/s
    assert.equal(speed, 100_000)
    const readings: number[] = []
    for (let t = 5250; t <= 9000; t += 250) readings.push(meter.sample(500_000, t))
    assert.ok(readings[0]! > 0, 'right after the stop: the window still holds bytes')
    for (let i = 1; i < readings.length; i++) assert.ok(readings[i]! <= readings[i - 1]!, 'falls as the window empties')
    assert.equal(readings.at(-1), 0)
    assert.equal(meter.sample(500_000, 9000 + 3000), 0)
  })
})

const file = (over: Partial<FileStatus>): FileStatus => ({
  index: 0, fn: 'a.bin', url: 'http://h/a.bin', saved_as: 'a.bin', state: 'downloading', bytes: 0, size: null,
  attempts: 1, retry_at: null, http_status: null, error: null, source: null, ...over,
})

describe('CLI bars', () => {
  it('never shows a file at 100% before it is done, and a size not known as "?"', () => {
    assert.equal(fileBar(file({ bytes: 1_000_000, size: 1_000_000 })).pct, ' 99%')
    assert.ok(fileBar(file({ bytes: 1_000_000, size: 1_000_000 })).value < 1_000_000, 'the bar stops short of full')
    assert.equal(fileBar(file({ bytes: 100_000, size: 1_000_000 })).pct, ' 10%')
    assert.equal(fileBar(file({ state: 'done', bytes: 1_000_000, size: 1_000_000 })).pct, '100%')
    assert.equal(fileBar(file({ bytes: 125_000 })).pct, '   ?')
    assert.equal(fileBar(file({ bytes: 125_000 })).value, 0, 'no bar drawn for a size not known')
  })

  it('shows a retrying file with the failed attempt and when the next starts', () => {
    const at = Date.parse('2026-01-01T10:00:05Z')
    const bar = fileBar(file({ state: 'retrying', attempts: 2, http_status: 503, error: 'http_error', retry_at: new Date(at).toISOString() }), at - 4200)
    assert.equal(bar.pct, 'wait')
    assert.match(bar.label, /^a\.bin: HTTP 503 on attempt 2, attempt 3 in 5s \(\d\d:\d\d:05\)$/)
    const net = fileBar(file({ state: 'retrying', attempts: 1, error: 'timeout', retry_at: new Date(at).toISOString() }), at - 61_000)
    assert.match(net.label, /timeout on attempt 1, attempt 2 in 1m01s/)
  })

  it('counts the task in bytes once sizes are known, in files before', () => {
    const task = (totals: Partial<TaskStatus['totals']>, state: TaskStatus['state'] = 'running') =>
      ({ task_id: 't', state, totals: { files: 3, done: 1, failed: 0, bytes_done: 0, bytes_total: 0, speed: 0, eta_s: null, ...totals } }) as TaskStatus
    const bytes = taskBar(task({ bytes_done: 1_500_000, bytes_total: 3_000_000, speed: 500_000, eta_s: 3 }))
    assert.deepEqual([bytes.value, bytes.total, bytes.pct], [1_500_000, 3_000_000, ' 50%'])
    assert.equal(bytes.label, '1.5 MB of 3.0 MB, 0.5 MB/s, 3s left, 1/3 files, running')
    const files = taskBar(task({}))
    assert.deepEqual([files.value, files.total, files.pct], [1, 3, ' 33%'])
    assert.equal(taskBar(task({ bytes_done: 3_000_000, bytes_total: 3_000_000 })).pct, ' 99%', 'not 100% while it runs')
    assert.equal(taskBar(task({ done: 3, bytes_done: 3_000_000, bytes_total: 3_000_000 }, 'completed')).pct, '100%')
  })
})
