// The "fair" workload: a staff member's 3 small files submitted while six
// colleagues' exports of 40 slow files each hold every connection of the
// worker. What counts is the small task's time, from its submit to its "end".
// No peer runs tasks side by side, so there is no ratio, only the target (1 s).
import { readReplies } from '../testkit/service.js'
import type { OriginProcess } from './origin.js'

const MiB = 1024 * 1024
const LONG_TASKS = 6
const LONG_FILES = 40

export interface FairDeps {
  address: string
  env: Record<string, string>
  origin: OriginProcess
  rounds: number
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

export async function fairWorkload({ address, env, origin, rounds }: FairDeps): Promise<string[][]> {
  const submit = async (taskId: string, files: { fn: string; url: string }[]) => {
    const res = await fetch(`${address}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ task_id: taskId, task_info: files }),
    })
    if (res.status !== 202) throw new Error(`POST answered ${res.status}`)
  }
  const ended = (taskId: string) => readReplies(`${env.LEGACY_REPLY_PREFIX}_${taskId}`, 600_000)
  const purge = (taskId: string) => fetch(`${address}/tasks/${taskId}?purge=1`, { method: 'DELETE' })
  const smallS: number[] = []
  const longS: number[] = []
  for (let round = 0; round < rounds; round++) {
    const t0 = performance.now()
    const longIds = Array.from({ length: LONG_TASKS }, (_, t) => `fair-${round}-long${t}`)
    // 4 MiB at 2 MiB/s: each file holds its connection for 2 s.
    for (const [t, id] of longIds.entries()) {
      await submit(id, Array.from({ length: LONG_FILES }, (_, i) => ({ fn: `f${i}.bin`, url: origin.url(`fair-${t}-${i}`, { size: 4 * MiB, rate: 2 * MiB }) })))
    }
    const longEnds = longIds.map((id) => ended(id).then(() => performance.now()))
    // The long tasks are running, every connection of the worker busy.
    await new Promise((r) => setTimeout(r, 1000))
    const smallId = `fair-${round}-small`
    const s0 = performance.now()
    await submit(smallId, [0, 1, 2].map((i) => ({ fn: `s${i}.jpg`, url: origin.url(`fair-small-${i}`, { size: 64 * 1024, delay: 50 }) })))
    await ended(smallId)
    smallS.push((performance.now() - s0) / 1000)
    const firstLong = Math.min(...(await Promise.all(longEnds)))
    longS.push((firstLong - t0) / 1000)
    process.stderr.write(`fair round ${round + 1}: small task ${smallS.at(-1)!.toFixed(2)} s, first long task ${longS.at(-1)!.toFixed(1)} s\n`)
    for (const id of [...longIds, smallId]) await purge(id)
  }
  return [
    [
      'fair',
      'batchdl',
      median(smallS).toFixed(2),
      '',
      '',
      '',
      '',
      `small task (3 files) behind ${LONG_TASKS} tasks of ${LONG_FILES} slow files; the first of those took ${median(longS).toFixed(1)} s; target < 1 s`,
    ],
  ]
}
