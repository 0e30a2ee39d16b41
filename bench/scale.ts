// `npm run bench:scale`: how the small-file workload (2,000 files of 16 KiB,
// 5 ms before each answer) scales with 1, 2 and 4 worker processes on one
// Redis, and what REDIS_REPLICA_ACKS=1 costs per file. A private Redis
// primary with one replica, so that other users of 127.0.0.1:6379 neither
// disturb the figures nor see the replica. Each configuration runs the
// workload as 8 tasks (a task runs on one worker), once unmeasured, then
// --rounds times; the table gives medians, and Redis's commands and CPU per file.
//
//   npm run bench:scale [-- --rounds 3 --workers 1,2,4]
import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'
import { startOriginProcess } from './origin.js'
import { workerRuntime } from '../scripts/worker-runtime.js'
import { startReplicated } from '../testkit/redis-replicas.js'
import { cleanEnv, readReplies, spawnService, testEnv, type ChildService } from '../testkit/service.js'

const FILES = 2000
const TASKS = 8
const SIZE = 16 * 1024

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, workers: { type: 'string', default: '1,2,4' } } })
const ROUNDS = Number(values.rounds)
const WORKER_COUNTS = values.workers!.split(',').map(Number)
const WORKER = workerRuntime()
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

async function counters(redis: Redis): Promise<{ commands: number; cpuS: number }> {
  const info = await redis.info('all')
  const field = (re: RegExp) => Number(re.exec(info)?.[1] ?? 0)
  return { commands: field(/total_commands_processed:(\d+)/), cpuS: field(/used_cpu_user:([\d.]+)/) + field(/used_cpu_sys:([\d.]+)/) }
}

const redisSet = await startReplicated(1)
const origin = await startOriginProcess()
const redis = new Redis(redisSet.url)
const configs = [...WORKER_COUNTS.map((n) => ({ workers: n, acks: 0 })), { workers: 1, acks: 1 }]
const results = configs.map(() => ({ walls: [] as number[], cmds: [] as number[], cpus: [] as number[] }))

/** Tasks of `files` files in all, submitted at once, until each one's "end" is read. */
async function runTasks(api: string, env: Record<string, string>, tag: string, files: number): Promise<number> {
  const ids = Array.from({ length: TASKS }, (_, t) => `${tag}-${t}`)
  const t0 = performance.now()
  await Promise.all(
    ids.map(async (id, t) => {
      const task_info = Array.from({ length: files / TASKS }, (_, i) => ({ fn: `f${i}.bin`, url: origin.url(`scale-${t}-${i}`, { size: SIZE, delay: 5 }) }))
      const res = await fetch(`${api}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ task_id: id, task_info }) })
      if (res.status !== 202) throw new Error(`POST answered ${res.status}`)
      const replies = await readReplies(`${env.LEGACY_REPLY_PREFIX}_${id}`, 600_000, redisSet.url)
      if (replies.length !== files / TASKS + 2) throw new Error(`${replies.length} reply messages`)
    }),
  )
  const wallS = (performance.now() - t0) / 1000
  for (const id of ids) await fetch(`${api}/tasks/${id}?purge=1`, { method: 'DELETE' })
  return wallS
}

try {
  // Configurations alternate within each round, so that the machine's other load falls on all alike.
  for (let round = 0; round < ROUNDS; round++) {
    for (const [c, { workers, acks }] of configs.entries()) {
      const env = await testEnv('scale', {
        REDIS_URL: redisSet.url,
        PORT: '0',
        METRICS_PORT: '0',
        MAX_CONNECTIONS_PER_TASK: '20',
        TASK_RETENTION_SECONDS: '0',
        SUBMIT_RATE_LIMIT_PER_MINUTE: '0',
        REDIS_REPLICA_ACKS: String(acks),
      })
      const procs: ChildService[] = []
      try {
        procs.push(await spawnService({ ...env, ROLE: 'api' }, { built: true }))
        const api = procs[0]!.address!
        for (let i = 0; i < workers; i++) {
          procs.push(await spawnService({ ...env, ...WORKER.env, ROLE: 'worker' }, { built: true, nodeArgs: WORKER.nodeArgs }))
        }
        await runTasks(api, env, 'warm', TASKS * 32) // unmeasured: each new worker compiles its download path
        const c0 = await counters(redis)
        const wallS = await runTasks(api, env, `r${round}`, FILES)
        const c1 = await counters(redis)
        results[c]!.walls.push(wallS)
        results[c]!.cmds.push((c1.commands - c0.commands) / FILES)
        results[c]!.cpus.push(((c1.cpuS - c0.cpuS) / FILES) * 1e6)
        process.stderr.write(`round ${round + 1}, ${workers} workers, acks ${acks}: ${wallS.toFixed(2)} s\n`)
      } finally {
        for (const p of procs.reverse()) await p.stop()
        await cleanEnv(env)
      }
    }
  }
} finally {
  redis.disconnect()
  await origin.stop()
  await redisSet.stop()
}

const baseline = median(results[0]!.walls)
const rows = configs.map(({ workers, acks }, c) => {
  const wall = median(results[c]!.walls)
  const note =
    acks > 0
      ? `${(((wall - baseline) / FILES) * 1000).toFixed(2)} ms/file against acks 0`
      : `${(baseline / wall).toFixed(2)}x one worker's rate`
  return [String(workers), String(acks), wall.toFixed(2), (FILES / wall).toFixed(0), median(results[c]!.cmds).toFixed(1), median(results[c]!.cpus).toFixed(0), note]
})

const header = ['workers', 'REDIS_REPLICA_ACKS', 'wall s (median)', 'files/s', 'Redis cmds/file', 'Redis CPU µs/file', 'note']
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`
console.log(line(header))
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`)
for (const r of rows) console.log(line(r))
