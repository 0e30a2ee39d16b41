// `npm run bench`: the same downloads through batchdl (POST /tasks until "end"
// is on the reply list, every file checked by sha256), curl --parallel and
// aria2c, alternating, several rounds, one table. Then the API under load.
// Each workload starts with one unmeasured batchdl run: a long-running worker
// has compiled its download path, and the origin has made each file's bytes.
//
//   npm run bench [-- --rounds 3 --only seed,bulk,small,big,split,mixed,fair,api --profile DIR --dir DIR --set KEY=VALUE]
//
// Needs aria2c, nginx, wrk and GNU time: apt-get install -y aria2 nginx-light wrk time
import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { startNginx, type Nginx } from './nginx.js'
import { chooseVenue } from './venue.js'
import { workerRuntime } from '../scripts/worker-runtime.js'
import { cpuSeconds, peakRssMiB, resetPeakRss, runAria2, runCurl, runUndiciFloor, type Job, type Measured } from './peers.js'
import { fileBytes, sha256Hex } from '../testkit/file-bytes.js'
import { startOriginProcess, type OriginProcess } from './origin.js'
import { fairWorkload } from './fair.js'
import { Redis } from 'ioredis'
import { cleanEnv, readReplies, REDIS_URL, spawnService, testEnv, type ChildService } from '../testkit/service.js'

const MiB = 1024 * 1024
const PARALLEL = 20

interface Workload {
  name: string
  files: number
  size: number
  source: 'origin' | 'nginx'
  params?: Record<string, number>
  /** the best possible wall time, when the origin's throttle sets one */
  idealS?: number
  unit: 'MB/s' | 'files/s'
  /** a file of another size than `size` (the one video among photos) */
  sizeOf?: (i: number) => number
  /** the worker's settings for this workload, beside the bench's own */
  workerEnv?: Record<string, string>
  /** aria2c's options for connections per file, instead of one (-x 1) */
  aria2?: string[]
  /** only these peers (curl cannot split a file) */
  peers?: ('curl' | 'aria2c')[]
  /** no node floor rows: undici alone, one connection per file, is no floor for a split download */
  noFloor?: boolean
}

const WORKLOADS: Workload[] = [
  // 20 connections: 5 rounds of 20 files, each 50 ms to first byte + 4 MiB at 8 MiB/s.
  { name: 'seed', files: 100, size: 4 * MiB, source: 'origin', params: { delay: 50, rate: 8 * MiB }, idealS: 5 * 0.55, unit: 'MB/s' },
  { name: 'bulk', files: 16, size: 64 * MiB, source: 'nginx', unit: 'MB/s' },
  { name: 'small', files: 2000, size: 16 * 1024, source: 'origin', params: { delay: 5 }, unit: 'files/s' },
  { name: 'big', files: 4, size: 512 * MiB, source: 'nginx', unit: 'MB/s' },
  // An origin that limits each connection (object stores, CDNs): 64 connections of 8 MiB/s at best.
  {
    name: 'split',
    files: 4,
    size: 128 * MiB,
    source: 'origin',
    params: { delay: 50, rate: 8 * MiB },
    idealS: 0.05 + (4 * 128) / (64 * 8),
    unit: 'MB/s',
    workerEnv: { MAX_CONNECTIONS_PER_TASK: '64', MAX_CONNECTIONS_PER_HOST: '64' },
    aria2: ['-x', '16', '-s', '16', '-k', '1M'],
    peers: ['aria2c'],
    noFloor: true,
  },
  // One video among photos: the batch's time is its slowest file unless the video is split.
  {
    name: 'mixed',
    files: 100,
    size: MiB,
    sizeOf: (i) => (i === 99 ? 256 * MiB : MiB),
    source: 'origin',
    params: { delay: 50, rate: 8 * MiB },
    idealS: (99 + 256) / (20 * 8),
    unit: 'MB/s',
    aria2: ['-x', '16', '-s', '16', '-k', '1M'],
    peers: ['aria2c'],
    noFloor: true,
  },
]

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    only: { type: 'string', default: 'seed,bulk,small,big,split,mixed,fair,api' },
    // Writes the worker's and the load-tested API's CPU profiles (open them in Chrome DevTools) into this folder.
    profile: { type: 'string' },
    // Where every tool writes its files; tmpfs (/dev/shm) by default, see venue.ts.
    dir: { type: 'string' },
    // A worker setting for every workload, e.g. --set SEGMENT_MIN_BYTES=1048576 (a sweep runs the bench once per value).
    set: { type: 'string', multiple: true, default: [] },
  },
})
const SETTINGS = Object.fromEntries(values.set!.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]))
const nodeArgs = values.profile ? ['--cpu-prof', `--cpu-prof-dir=${values.profile}`] : []
/** The worker runs as docker-compose.yml runs it (see the worker service there). */
const WORKER = workerRuntime()
const ROUNDS = Number(values.rounds)
const ONLY = new Set(values.only!.split(','))

function requireTools() {
  const missing = ['aria2c', 'nginx', 'wrk', 'curl'].filter((t) => {
    try {
      execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' })
      return false
    } catch {
      return true
    }
  })
  try {
    execFileSync('/usr/bin/time', ['true'], { stdio: 'ignore' })
  } catch {
    missing.push('time')
  }
  if (missing.length) {
    console.error(`missing: ${missing.join(', ')}. Install them with: apt-get install -y aria2 nginx-light wrk time curl`)
    process.exit(1)
  }
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * MiB })) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

async function verify(dir: string, names: string[], expected: string[]): Promise<void> {
  const present = new Set(await readdir(dir))
  for (const [i, name] of names.entries()) {
    if (!present.has(name)) throw new Error(`${name} missing in ${dir}`)
    if ((await sha256File(join(dir, name))) !== expected[i]) throw new Error(`${name} differs from the origin`)
  }
}

/**
 * Commands Redis has run, inner commands of Lua scripts included, how many of
 * them were script calls, and its CPU seconds: read before and after a run.
 */
async function redisCounters(redis: Redis): Promise<{ commands: number; scripts: number; cpuS: number }> {
  const info = await redis.info('all')
  const field = (re: RegExp) => Number(re.exec(info)?.[1] ?? 0)
  return {
    commands: field(/total_commands_processed:(\d+)/),
    scripts: field(/cmdstat_evalsha:calls=(\d+)/) + field(/cmdstat_eval:calls=(\d+)/),
    cpuS: field(/used_cpu_user:([\d.]+)/) + field(/used_cpu_sys:([\d.]+)/),
  }
}

/** POST /tasks with the job's files, then reads the reply list until its "end", as the PHP side does. */
async function downloadWithBatchdl(taskId: string, job: Job): Promise<string[]> {
  const res = await fetch(`${service!.address}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ task_id: taskId, task_info: job.names.map((fn, i) => ({ fn, url: job.urls[i] })) }),
  })
  if (res.status !== 202) throw new Error(`POST answered ${res.status}`)
  return readReplies(`${env!.LEGACY_REPLY_PREFIX}_${taskId}`, 600_000)
}

const purge = (taskId: string) => fetch(`${service!.address}/tasks/${taskId}?purge=1`, { method: 'DELETE' })

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

requireTools()
const venue = await chooseVenue(values.dir)
const work = await mkdtemp(join(venue.dir, 'batchdl-bench-'))
const staticRoot = join(work, 'static')
await mkdir(staticRoot)
let origin: OriginProcess | null = null
let nginx: Nginx | null = null
let service: ChildService | null = null
let worker: ChildService | null = null
let env: Record<string, string> | null = null
const rows: string[][] = []
const counters = new Redis(REDIS_URL)

try {
  origin = await startOriginProcess()
  nginx = await startNginx(staticRoot, work)
  env = await testEnv('bench', {
    PORT: '0',
    DOWNLOAD_DIR: join(work, 'batchdl'),
    MAX_CONNECTIONS_PER_TASK: String(PARALLEL),
    // Every workload reads from one host: as many connections to it as the peers open (the default cap is 16).
    MAX_CONNECTIONS_PER_HOST: String(PARALLEL),
    MAX_FILE_BYTES: String(4 * 1024 * MiB),
    TASK_RETENTION_SECONDS: '0',
    SUBMIT_RATE_LIMIT_PER_MINUTE: '0',
    DOWNLOAD_IDLE_TIMEOUT_MS: '30000',
  })
  // The API and the worker in processes of their own: the worker's figures are the download's.
  service = await spawnService({ ...env, ROLE: 'api' }, { built: true })
  let workerEnv: Record<string, string> | undefined
  /** A worker with the workload's settings: started again when they differ from the running one's. */
  const workerFor = async (settings: Record<string, string> = {}) => {
    if (worker && JSON.stringify(settings) === JSON.stringify(workerEnv)) return worker.child.pid!
    for (const line of worker?.logs ?? []) if (/"level":(4|5|6)0/.test(line)) console.log(`worker: ${line}`)
    await worker?.stop()
    workerEnv = settings
    worker = await spawnService({ ...env!, ...settings, ...WORKER.env, ROLE: 'worker', METRICS_PORT: '0' }, { built: true, nodeArgs: [...WORKER.nodeArgs, ...nodeArgs] })
    return worker.child.pid!
  }

  for (const w of WORKLOADS.filter((x) => ONLY.has(x.name))) {
    const pid = await workerFor({ ...w.workerEnv, ...SETTINGS })
    const sizeOf = w.sizeOf ?? (() => w.size)
    const names = Array.from({ length: w.files }, (_, i) => `${w.name}-${i}.bin`)
    let urls: string[]
    let expected: string[]
    if (w.source === 'nginx') {
      expected = []
      for (const [i, name] of names.entries()) {
        const bytes = fileBytes(name, sizeOf(i))
        await writeFile(join(staticRoot, name), bytes)
        expected.push(sha256Hex(bytes))
      }
      urls = names.map((n) => `${nginx!.base}/${n}`)
    } else {
      urls = names.map((n, i) => origin!.url(n, { size: sizeOf(i), ...w.params }))
      expected = names.map((n, i) => sha256Hex(fileBytes(n, sizeOf(i))))
    }
    const job: Job = { urls, names }
    const results: Record<string, Measured[]> = { batchdl: [], curl: [], aria2c: [] }
    const peers = w.peers ?? ['curl', 'aria2c']
    let redisPerFile = ''
    const redisCpu: number[] = []
    const floor: Omit<Measured, 'peakRssMiB'>[] = []
    const floorDisk: Omit<Measured, 'peakRssMiB'>[] = []
    const tools = ['batchdl', ...peers]
    /** per tool, the most requests the origin had in progress at once in any round */
    const peakRequests: Record<string, number> = {}
    // Not measured (see the top of this file); the origin's warmth serves every tool alike.
    await downloadWithBatchdl(`${w.name}-warm-up`, job)
    await purge(`${w.name}-warm-up`)
    for (let round = 0; round < ROUNDS; round++) {
      for (const tool of [...tools.slice(round % tools.length), ...tools.slice(0, round % tools.length)]) {
        const dir = join(work, `${tool}-${w.name}-${round}`)
        await mkdir(dir, { recursive: true })
        // Every run starts with no dirty pages left by the one before: writeback
        // of another tool's gigabyte is not charged to this one.
        execFileSync('sync')
        if (w.source === 'origin') await origin!.peak()
        let m: Measured
        if (tool === 'batchdl') {
          const taskId = `${w.name}-${round}`
          await resetPeakRss(pid)
          const cpu0 = await cpuSeconds(pid)
          const redis0 = await redisCounters(counters)
          const t0 = performance.now()
          const replies = await downloadWithBatchdl(taskId, job)
          m = { wallS: (performance.now() - t0) / 1000, cpuS: (await cpuSeconds(pid)) - cpu0, peakRssMiB: await peakRssMiB(pid) }
          const redis1 = await redisCounters(counters)
          // Includes the submit, the queue, and this benchmark's own reader of the reply list (one BRPOP per message).
          redisPerFile = `${((redis1.commands - redis0.commands) / w.files).toFixed(1)} (${((redis1.scripts - redis0.scripts) / w.files).toFixed(2)} Lua)`
          redisCpu.push(redis1.cpuS - redis0.cpuS)
          if (replies.length !== w.files + 2) throw new Error(`${replies.length} reply messages for ${w.files} files`)
          await verify(join(env.DOWNLOAD_DIR!, taskId), names, expected)
          await purge(taskId)
        } else {
          m = tool === 'curl' ? await runCurl(job, dir, PARALLEL) : await runAria2(job, dir, PARALLEL, w.aria2)
          if (round === 0) await verify(dir, names, expected)
        }
        if (w.source === 'origin') peakRequests[tool] = Math.max(peakRequests[tool] ?? 0, await origin!.peak())
        await rm(dir, { recursive: true, force: true })
        results[tool]!.push(m)
        process.stderr.write(`${w.name} round ${round + 1} ${tool}: ${m.wallS.toFixed(2)} s\n`)
      }
      if (w.noFloor) continue
      floor.push(await runUndiciFloor(job, PARALLEL, WORKER))
      const floorDir = join(work, `floor-${w.name}-${round}`)
      await mkdir(floorDir)
      execFileSync('sync')
      floorDisk.push(await runUndiciFloor(job, PARALLEL, WORKER, floorDir))
      if (round === 0) await verify(floorDir, names, expected)
      await rm(floorDir, { recursive: true, force: true })
    }
    await rm(staticRoot, { recursive: true, force: true })
    await mkdir(staticRoot)

    const totalMB = names.reduce((n, _, i) => n + sizeOf(i), 0) / 1e6
    const wall = (t: string) => median(results[t]!.map((m) => m.wallS))
    const floorS = floor.length > 0 ? median(floor.map((m) => m.wallS)) : null
    const floorDiskS = floorDisk.length > 0 ? median(floorDisk.map((m) => m.wallS)) : null
    const rate = (t: number) => `${(w.unit === 'MB/s' ? totalMB / t : w.files / t).toFixed(0)} ${w.unit}`
    for (const tool of tools) {
      const rs = results[tool]!
      const t = wall(tool)
      const ratios = tool === 'batchdl' ? peers.map((p) => `${(t / wall(p)).toFixed(2)}x ${p}`).join(', ') : ''
      const ideal = tool === 'batchdl' && w.idealS ? `, ${(t / w.idealS).toFixed(2)}x ideal` : ''
      const overFloor =
        tool === 'batchdl' && floorS && floorDiskS ? `, ${(t / floorS).toFixed(2)}x node floor, ${(t / floorDiskS).toFixed(2)}x floor + disk` : ''
      rows.push([
        w.name,
        tool,
        t.toFixed(2),
        rate(t),
        median(rs.map((m) => m.cpuS)).toFixed(2),
        Math.max(...rs.map((m) => m.peakRssMiB)).toFixed(0),
        tool === 'batchdl' ? `${redisPerFile}, ${median(redisCpu).toFixed(2)} s` : '',
        [ratios + ideal + overFloor, peakRequests[tool] ? `at most ${peakRequests[tool]} requests at once` : ''].filter(Boolean).join('; '),
      ])
    }
    if (floorS) {
      const ideal = w.idealS ? `, ${(floorS / w.idealS).toFixed(2)}x ideal` : ''
      rows.push([w.name, 'node floor', floorS.toFixed(2), rate(floorS), median(floor.map((m) => m.cpuS)).toFixed(2), '', '', `undici alone, bytes discarded${ideal}`])
    }
    if (floorDiskS) {
      const cpu = median(floorDisk.map((m) => m.cpuS))
      rows.push([w.name, 'floor + disk', floorDiskS.toFixed(2), rate(floorDiskS), cpu.toFixed(2), '', '', 'undici, files written as the worker writes them'])
    }
  }

  if (ONLY.has('fair')) {
    await workerFor()
    rows.push(...(await fairWorkload({ address: service.address!, env, origin: origin!, rounds: ROUNDS })))
  }
  if (ONLY.has('api')) rows.push(...(await apiLoad()))
} finally {
  counters.disconnect()
  // A warning changes what the figures mean (a disk found slow, a retried file): shown with them.
  // (Assigned in workerFor(), which the compiler does not follow.)
  const last = worker as ChildService | null
  for (const line of last?.logs ?? []) if (/"level":(4|5|6)0/.test(line)) console.log(`worker: ${line}`)
  await last?.stop()
  await service?.stop()
  await nginx?.stop()
  await origin?.stop()
  if (env) await cleanEnv(env)
  await rm(work, { recursive: true, force: true })
}

const header = ['workload', 'tool', 'wall s (median)', 'rate', 'CPU s', 'peak RSS MiB', 'Redis cmds/file, CPU s', 'batchdl time ratio (lower is better); requests at once']
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`
console.log(`\n${ROUNDS} rounds, ${PARALLEL} connections each; CPU and peak RSS of the downloading process (batchdl: its worker); files written to ${venue.dir} (${venue.filesystem})`)
console.log(`node floor: undici alone receiving the same files, ${PARALLEL} at once, writing nothing, in a process run as the worker is: what any Node downloader can at best do here`)
console.log("floor + disk: the same, writing each file through the worker's own FileSink and DiskCalls: what batchdl costs beyond receiving and writing is the gap to this row")
console.log('Redis cmds/file: every command Redis ran for the task (submit, queue, Lua steps and the commands inside them, the reply reader), per file; in brackets the Lua steps; then the CPU seconds Redis used')
console.log('requests at once: the most the test origin (not nginx) had in progress at once, in any round of the tool\n')
console.log(line(header))
console.log(line(widths.map((n) => '-'.repeat(n))))
for (const r of rows) console.log(line(r))

/**
 * POST /tasks of 10 files each, sustained 10 s by wrk against an API-only
 * process, once per round, after 3 s of the same load that is not measured: a
 * long-running API is warm, and a cold one stalls its event loop for up to
 * 300 ms while V8 compiles the request path, which would otherwise be most of
 * the p99. Medians of the rounds, as for the downloads; each round's p99 too,
 * since one pause of the machine is enough to move it.
 */
async function apiLoad(): Promise<string[][]> {
  const apiEnv = await testEnv('bench-api', { PORT: '0', SUBMIT_RATE_LIMIT_PER_MINUTE: '0' })
  // Logs at info, the default: one line per request, as deployed.
  const api = await spawnService({ ...apiEnv, ROLE: 'api' }, { built: true, nodeArgs })
  try {
    const files = Array.from({ length: 10 }, (_, i) => `{"fn":"img${i}.jpg","url":"https://oss.example.com/bucket/img${i}.jpg?Expires=1700000000&Signature=abc"}`).join(',')
    const script = join(work, 'post.lua')
    await writeFile(
      script,
      `local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
function init(args) n = 0; phase = args[1] end
function request()
  n = n + 1
  local body = '{"task_id":"' .. phase .. tid .. '-' .. n .. '","task_info":[${files}]}'
  return wrk.format("POST", "/tasks", { ["Content-Type"] = "application/json" }, body)
end
`,
    )
    const warmUp = spawn('wrk', ['-t2', '-c32', '-d3s', '-s', script, api.address!, '--', 'warm'], { stdio: 'ignore' })
    await once(warmUp, 'exit')
    const runs: { rps: number; cpuS: number; p50: number; p99: number; non2xx: number }[] = []
    for (let round = 0; round < ROUNDS; round++) {
      const cpu0 = await cpuSeconds(api.child.pid!)
      const wrk = spawn('wrk', ['-t2', '-c32', '-d10s', '--latency', '-s', script, api.address!, '--', `r${round}-`], { stdio: ['ignore', 'pipe', 'inherit'] })
      let out = ''
      wrk.stdout.on('data', (d: Buffer) => (out += d.toString()))
      await once(wrk, 'exit')
      const cpuS = (await cpuSeconds(api.child.pid!)) - cpu0
      const pct = (p: string) => /(\d+\.?\d*)(us|ms|s)/.exec(new RegExp(`\\s${p}%\\s+(\\S+)`).exec(out)?.[1] ?? '')
      const ms = (m: RegExpExecArray | null) => (m ? Number(m[1]) * ({ us: 0.001, ms: 1, s: 1000 } as Record<string, number>)[m[2]!]! : NaN)
      const run = {
        rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
        cpuS,
        p50: ms(pct('50')),
        p99: ms(pct('99')),
        non2xx: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0),
      }
      runs.push(run)
      process.stderr.write(`api round ${round + 1}: ${run.rps.toFixed(0)} tasks/s, p99 ${run.p99.toFixed(1)} ms\n`)
    }
    const med = (f: (r: (typeof runs)[number]) => number) => median(runs.map(f))
    const p99s = runs.map((r) => r.p99.toFixed(1)).join(', ')
    const non2xx = runs.reduce((n, r) => n + r.non2xx, 0)
    return [['api', 'batchdl', '10', `${med((r) => r.rps).toFixed(0)} tasks/s`, med((r) => r.cpuS).toFixed(2), '', '', `p50 ${med((r) => r.p50).toFixed(1)} ms, p99 ${med((r) => r.p99).toFixed(1)} ms (rounds: ${p99s}), ${non2xx} non-2xx`]]
  } finally {
    await api.stop()
    await cleanEnv(apiEnv)
  }
}
