#!/usr/bin/env node
// The command line: batchdl submit | status | cancel | archive. Talks to the
// API (BATCHDL_URL, BATCHDL_API_KEY or --url, --key).
import { createWriteStream } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { Readable } from 'node:stream'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'
import { pipeline } from 'node:stream/promises'
import { parseArgs } from 'node:util'
import { MultiBar, Presets, type SingleBar } from 'cli-progress'
import type { TaskAccepted, TaskStatus } from '../tasks/schemas.js'
import { listHint, parseFileList } from './file-list.js'

const USAGE = `usage:
  batchdl submit <list> [--task-id ID] [--watch] [--json]   list: lines of "URL" or "name URL", .csv (fn,url) or .json
  batchdl status <task-id> [--json]
  batchdl cancel <task-id> [--json]
  batchdl archive <task-id> -o <file.zip>
options: --url (BATCHDL_URL, default http://127.0.0.1:3000), --key (BATCHDL_API_KEY)
exit status: 0 when every file is done, 1 when files failed or the task was cancelled, 2 on a usage or API error`

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string', default: process.env.BATCHDL_URL ?? 'http://127.0.0.1:3000' },
    key: { type: 'string', default: process.env.BATCHDL_API_KEY },
    'task-id': { type: 'string' },
    watch: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    output: { type: 'string', short: 'o' },
    help: { type: 'boolean', short: 'h', default: false },
  },
})
const base = values.url!.replace(/\/$/, '')
const headers: Record<string, string> = values.key ? { authorization: `Bearer ${values.key}` } : {}

class ApiError extends Error {}

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  // A JSON content type on an empty body is refused: only when there is one.
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  const data = text ? (JSON.parse(text) as T & { error?: string; message?: string; details?: { path: string; message: string }[] }) : ({} as T & { error?: string })
  if (!res.ok) {
    const d = data as { error?: string; message?: string; details?: { path: string; message: string }[] }
    const details = d.details?.map((x) => `\n  ${x.path}: ${x.message}`).join('') ?? ''
    throw new ApiError(`${res.status} ${d.error ?? ''}: ${d.message ?? text}${details}`)
  }
  return data
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`
const ended = (s: TaskStatus) => !['queued', 'running'].includes(s.state)

/** Polls the task, with one overall bar and a bar per active file on a terminal. */
async function watch(taskId: string, quiet: boolean): Promise<TaskStatus> {
  const tty = !quiet && process.stderr.isTTY
  const bars = tty ? new MultiBar({ format: ' {bar} {percentage}% | {label}', hideCursor: true, clearOnComplete: false }, Presets.shades_classic) : null
  let overall: SingleBar | null = null
  const active = new Map<string, SingleBar>()
  let status: TaskStatus
  for (;;) {
    status = await api<TaskStatus>('GET', `/tasks/${encodeURIComponent(taskId)}`)
    const t = status.totals
    if (bars) {
      overall ??= bars.create(t.files, 0, { label: '' })
      overall.update(t.done + t.failed, { label: `${t.done + t.failed}/${t.files} files, ${mb(t.bytes_done)}, ${status.state}` })
      const running = status.files.filter((f) => f.state === 'downloading')
      for (const [name, bar] of active) {
        if (!running.some((f) => f.saved_as === name)) {
          bars.remove(bar)
          active.delete(name)
        }
      }
      for (const f of running.slice(0, 8)) {
        let bar = active.get(f.saved_as)
        if (!bar) {
          bar = bars.create(f.size ?? 1, 0, { label: f.saved_as })
          active.set(f.saved_as, bar)
        }
        if (f.size) bar.setTotal(f.size)
        bar.update(f.bytes, { label: `${f.saved_as} ${mb(f.bytes)}` })
      }
    }
    if (ended(status)) break
    await new Promise((r) => setTimeout(r, 300))
  }
  bars?.stop()
  return status
}

function summary(s: TaskStatus): string {
  const failed = s.files.filter((f) => f.state === 'failed')
  const lines = [`${s.task_id}: ${s.state}, ${s.totals.done} of ${s.totals.files} done, ${s.totals.failed} failed, ${mb(s.totals.bytes_done)}`]
  for (const f of failed) lines.push(`  failed ${f.fn}: ${f.error}${f.http_status ? ` (HTTP ${f.http_status})` : ''} after ${f.attempts} attempt(s)`)
  return lines.join('\n')
}

const exitFor = (s: TaskStatus) => (s.state === 'completed' ? 0 : ['queued', 'running'].includes(s.state) ? 0 : 1)

async function main(): Promise<number> {
  const [command, arg] = positionals
  if (values.help || !command || !arg) {
    process.stderr.write(`${USAGE}\n`)
    return values.help ? 0 : 2
  }
  const out = (s: TaskStatus) => process.stdout.write(values.json ? `${JSON.stringify(s)}\n` : `${summary(s)}\n`)
  switch (command) {
    case 'submit': {
      const files = parseFileList(await readFile(arg, 'utf8'), listHint(arg))
      const task = await api<TaskAccepted>('POST', '/tasks', { ...(values['task-id'] ? { task_id: values['task-id'] } : {}), task_info: files })
      if (!values.watch) {
        process.stdout.write(values.json ? `${JSON.stringify(task)}\n` : `${task.task_id}: ${task.state}, ${task.files} files\n`)
        return 0
      }
      const status = await watch(task.task_id, values.json!)
      out(status)
      return exitFor(status)
    }
    case 'status': {
      const status = await api<TaskStatus>('GET', `/tasks/${encodeURIComponent(arg)}`)
      out(status)
      return exitFor(status)
    }
    case 'cancel': {
      const status = await api<TaskStatus>('DELETE', `/tasks/${encodeURIComponent(arg)}`)
      out(status)
      return 0
    }
    case 'archive': {
      if (!values.output) throw new ApiError('archive needs -o <file.zip>')
      const res = await fetch(`${base}/tasks/${encodeURIComponent(arg)}/archive`, { headers })
      if (!res.ok || !res.body) throw new ApiError(`${res.status}: ${await res.text()}`)
      await pipeline(Readable.fromWeb(res.body as WebReadableStream), createWriteStream(values.output))
      if (!values.json) process.stdout.write(`${values.output}: ${res.headers.get('content-length')} bytes\n`)
      return 0
    }
    default:
      process.stderr.write(`${USAGE}\n`)
      return 2
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`batchdl: ${err instanceof ApiError ? err.message : String(err)}\n`)
    process.exit(2)
  },
)
