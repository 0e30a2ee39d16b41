// Event fan-out: N concurrent subscribers on one task of 200 files, served by
// one API process while a worker process downloads from a throttled origin.
// Reports delivery latency (event written -> received; a stream id is the
// Redis time of the write), the API process's RSS, and its Redis connections
// with 1 subscriber and with N.
//
//   npm run bench:sse [-- --subscribers 1000]   (builds first: the service runs as in production)
import { request, type IncomingMessage } from 'node:http'
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'
import { startOrigin } from '../testkit/origin.js'
import { cleanEnv, REDIS_URL, spawnService, testEnv } from '../testkit/service.js'

const { values } = parseArgs({ options: { subscribers: { type: 'string', default: '1000' }, files: { type: 'string', default: '200' } } })
const SUBSCRIBERS = Number(values.subscribers)
const FILES = Number(values.files)

const origin = await startOrigin()
const env = await testEnv('bench-sse', { PORT: '0', LOG_LEVEL: 'warn', MAX_CONNECTIONS_PER_TASK: '20' })
const api = await spawnService({ ...env, ROLE: 'api' }, { built: true })
const worker = await spawnService({ ...env, ROLE: 'worker' }, { built: true })
const redis = new Redis(REDIS_URL)

async function apiRedisConnections(): Promise<number> {
  const list = (await redis.client('LIST')) as string
  return list.split('\n').filter((l) => l.includes('name=batchdl-api')).length
}

/** CPU seconds (user + system) a process has used so far. */
async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

async function rssMiB(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0)
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 }
}

/** One subscriber: a raw HTTP stream, frames parsed just enough to time them. */
function subscribe(url: string, latencies: number[], since: { at: number }, types: Record<string, number> = {}): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let buf = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        buf += chunk
        let cut
        while ((cut = buf.indexOf('\n\n')) !== -1) {
          const frame = buf.slice(0, cut)
          buf = buf.slice(cut + 2)
          const id = /^id: (\d+)-\d+$/m.exec(frame)
          if (id && Number(id[1]) >= since.at) latencies.push(Date.now() - Number(id[1]))
          const type = /^event: (\w+)$/m.exec(frame)?.[1]
          if (type) types[type] = (types[type] ?? 0) + 1
        }
      })
      resolve(res)
    })
    req.on('error', reject)
    req.end()
  })
}

const submit = async (taskId: string, files: number, params: Record<string, number>) => {
  const task_info = Array.from({ length: files }, (_, i) => ({ fn: `f${i}.bin`, url: origin.url(`${taskId}-${i}`, params) }))
  const res = await fetch(`${api.address}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ task_id: taskId, task_info }),
  })
  return ((await res.json()) as { events_url: string }).events_url
}

try {
  // Baseline: one subscriber.
  const oneUrl = await submit('one', 1, { size: 1000, rate: 500 })
  const one = await subscribe(api.address + oneUrl, [], { at: Date.now() })
  await new Promise((r) => setTimeout(r, 500))
  const connectionsWithOne = await apiRedisConnections()
  one.destroy()

  // The load: latency counts the events written once every subscriber is on.
  const eventsUrl = await submit('many', FILES, { size: 100_000, rate: 100_000 })
  const latencies: number[] = []
  const since = { at: Infinity }
  const types: Record<string, number> = {}
  const streams = await Promise.all(
    Array.from({ length: SUBSCRIBERS }, (_, i) => subscribe(api.address + eventsUrl, latencies, since, i === 0 ? types : {})),
  )
  since.at = Date.now()
  const cpuBefore = { api: await cpuSeconds(api.child.pid!), me: process.cpuUsage() }
  const connectionsWithMany = await apiRedisConnections()
  const ended = streams.map((s) => new Promise((r) => s.on('end', r)))
  let peak = 0
  const sampler = setInterval(() => {
    rssMiB(api.child.pid!).then((m) => (peak = Math.max(peak, m.rss)), () => {})
  }, 200)
  const started = Date.now()
  await Promise.all(ended)
  clearInterval(sampler)
  const mem = await rssMiB(api.child.pid!)
  const apiCpu = (await cpuSeconds(api.child.pid!)) - cpuBefore.api
  const meCpu = process.cpuUsage(cpuBefore.me)

  latencies.sort((a, b) => a - b)
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]
  console.log(`subscribers            ${SUBSCRIBERS} on one task of ${FILES} files (${((Date.now() - started) / 1000).toFixed(1)} s)`)
  console.log(`events per subscriber  ${Object.entries(types).map(([t, n]) => `${n} ${t}`).join(', ')}`)
  console.log(`latencies measured     ${latencies.length} (events written after all subscribers were on)`)
  console.log(`latency p50 / p99      ${pct(50)} ms / ${pct(99)} ms   (goal: p99 < 100 ms)`)
  console.log(`API RSS peak           ${Math.max(peak, mem.peak).toFixed(0)} MiB   (goal: < 200 MiB)`)
  console.log(`CPU seconds            API ${apiCpu.toFixed(1)}, subscribers+origin (this process) ${((meCpu.user + meCpu.system) / 1e6).toFixed(1)}`)
  console.log(`API Redis connections  ${connectionsWithOne} with 1 subscriber, ${connectionsWithMany} with ${SUBSCRIBERS}`)
} finally {
  redis.disconnect()
  await worker.stop()
  await api.stop()
  await origin.close()
  await cleanEnv(env)
}
