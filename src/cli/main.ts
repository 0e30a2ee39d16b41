#!/usr/bin/env node
// The command line: talks to the API (BATCHDL_URL, BATCHDL_API_KEY or --url,
// --key). Exit status: 0 when every file is done, 1 when files failed or the
// task was cancelled, 2 on a usage or API error, 130 when interrupted.
import { createWriteStream } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { pipeline } from 'node:stream/promises'
import { parseArgs } from 'node:util'
import type { TaskAccepted, TaskStatus } from '../tasks/schemas.js'
import type { TaskListPage } from '../api/task-list.js'
import { CliError, createClient, type Client } from './client.js'
import { listHint, parseFileList } from './file-list.js'
import { isEnded, mb, watch } from './watch.js'

const COMMANDS = {
  submit: 'submit <list> [--task-id ID] [--watch] [--json]   list: lines of "URL" or "name URL", .csv (fn,url) or .json',
  list: 'list [--state running,queued,...] [--limit N] [--json]   the service\'s tasks, newest first',
  status: 'status <task-id> [--json]',
  watch: 'watch <task-id> [--json]   follow a task until it ends',
  retry: 'retry <task-id> [--watch] [--json]   run the failed and cancelled files again',
  cancel: 'cancel <task-id> [--json]',
  archive: 'archive <task-id> -o <file.zip> [--partial]   --partial: the files finished so far of a running task',
} as const
type Command = keyof typeof COMMANDS

const COMMON = `options: --url (BATCHDL_URL, default http://127.0.0.1:3000), --key (BATCHDL_API_KEY), --help
exit status: 0 when every file is done, 1 when files failed or the task was cancelled, 2 on a usage or API error`
const usage = (only?: Command) =>
  `usage:\n${(only ? [only] : (Object.keys(COMMANDS) as Command[])).map((c) => `  batchdl ${COMMANDS[c]}`).join('\n')}\n${COMMON}`

/** A mistake in the command line itself: one line, and how to get help. */
class UsageError extends CliError {}

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        url: { type: 'string', default: process.env.BATCHDL_URL ?? 'http://127.0.0.1:3000' },
        key: { type: 'string', default: process.env.BATCHDL_API_KEY },
        'task-id': { type: 'string' },
        state: { type: 'string' },
        limit: { type: 'string' },
        watch: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        partial: { type: 'boolean', default: false },
        output: { type: 'string', short: 'o' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    })
  } catch (err) {
    // parseArgs says what was wrong ("Unknown option '--x'"); the stack says nothing more.
    throw new UsageError(`${(err as Error).message.split('.')[0]}`)
  }
}

function summary(s: TaskStatus): string {
  const lines = [`${s.task_id}: ${s.state}, ${s.totals.done} of ${s.totals.files} done, ${s.totals.failed} failed, ${mb(s.totals.bytes_done)}`]
  for (const f of s.files.filter((x) => x.state === 'failed')) {
    lines.push(`  failed ${f.fn}: ${f.error}${f.http_status ? ` (HTTP ${f.http_status})` : ''} after ${f.attempts} attempt(s)`)
  }
  return lines.join('\n')
}

const exitFor = (s: TaskStatus) => (s.state === 'completed' || !isEnded(s) ? 0 : 1)

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv)
  const [command, arg, ...extra] = positionals
  if (!command) {
    if (values.help) return help(usage())
    throw new UsageError('no command given')
  }
  if (!(command in COMMANDS)) throw new UsageError(`unknown command "${command}"`)
  const cmd = command as Command
  if (values.help) return help(usage(cmd))
  if (cmd !== 'list' && !arg) throw new UsageError(`${cmd} needs ${cmd === 'submit' ? 'a file list' : 'a task id'}`)
  if (extra.length > 0 || (cmd === 'list' && arg)) throw new UsageError(`${cmd}: unexpected "${extra[0] ?? arg}"`)

  const client = createClient(values.url!, values.key)
  const json = values.json!
  const out = (s: TaskStatus) => process.stdout.write(json ? `${JSON.stringify(s)}\n` : `${summary(s)}\n`)
  const follow = async (taskId: string) => {
    const status = await watchUntilEnd(client, taskId, !json && process.stderr.isTTY === true)
    out(status)
    return exitFor(status)
  }
  const task = (id: string) => `/tasks/${encodeURIComponent(id)}`

  switch (cmd) {
    case 'submit': {
      const files = parseFileList(await readFile(arg!, 'utf8'), listHint(arg!))
      const body = { ...(values['task-id'] ? { task_id: values['task-id'] } : {}), task_info: files }
      const accepted = await client.json<TaskAccepted>('POST', '/tasks', body)
      if (json && !values.watch) {
        process.stdout.write(`${JSON.stringify(accepted)}\n`)
        return 0
      }
      // The id first, so that an interrupted watch can be picked up again.
      ;(values.watch ? process.stderr : process.stdout).write(`${accepted.task_id}: ${accepted.state}, ${accepted.files} files\n`)
      return values.watch ? follow(accepted.task_id) : 0
    }
    case 'list': {
      const query = new URLSearchParams()
      if (values.state) query.set('state', values.state)
      if (values.limit) query.set('limit', values.limit)
      const page = await client.json<TaskListPage>('GET', `/tasks${query.size ? `?${query}` : ''}`)
      if (json) process.stdout.write(`${JSON.stringify(page)}\n`)
      else {
        for (const t of page.tasks) {
          process.stdout.write(`${t.task_id}  ${t.state.padEnd(9)}  ${t.totals.done}/${t.totals.files} done, ${t.totals.failed} failed  ${t.created_at}\n`)
        }
        if (page.tasks.length === 0) process.stdout.write('no tasks\n')
      }
      return 0
    }
    case 'status': {
      const status = await client.json<TaskStatus>('GET', task(arg!))
      out(status)
      return exitFor(status)
    }
    case 'watch':
      return follow(arg!)
    case 'retry': {
      const status = await client.json<TaskStatus>('POST', `${task(arg!)}/retry`)
      if (!values.watch) {
        out(status)
        return 0
      }
      return follow(arg!)
    }
    case 'cancel': {
      out(await client.json<TaskStatus>('DELETE', task(arg!)))
      return 0
    }
    case 'archive': {
      if (!values.output) throw new UsageError('archive needs -o <file.zip>')
      const { body, length } = await client.download(`${task(arg!)}/archive${values.partial ? '?partial=1' : ''}`)
      await pipeline(body, createWriteStream(values.output))
      if (!json) process.stdout.write(`${values.output}: ${length ?? 'unknown'} bytes\n`)
      return 0
    }
  }
}

/** Follows a task; Ctrl-C stops following, not the task, and says how to follow it again. */
async function watchUntilEnd(client: Client, taskId: string, bars: boolean): Promise<TaskStatus> {
  const onInterrupt = () => {
    process.stderr.write(`\nstopped following ${taskId}; the task goes on. Follow it again with: batchdl watch ${taskId}\n`)
    process.exit(130)
  }
  process.once('SIGINT', onInterrupt)
  try {
    return await watch(client, taskId, bars)
  } finally {
    process.off('SIGINT', onInterrupt)
  }
}

function help(text: string): number {
  process.stdout.write(`${text}\n`)
  return 0
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) process.stderr.write(`batchdl: ${err.message} (batchdl --help for usage)\n`)
    else process.stderr.write(`batchdl: ${err instanceof CliError ? err.message : String(err)}\n`)
    process.exit(2)
  },
)
