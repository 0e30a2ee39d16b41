// `npm test` after lint and type check: runs every test file against the Redis
// at REDIS_URL (default 127.0.0.1:6379), or, when none answers there and
// REDIS_URL is unset, against a throwaway redis-server started for the run.
// With --fast (`npm run test:fast`, the edit loop): unit and in-process tests
// only; suites that start processes or run long are marked
// `skip: notInFastRun` (testkit/service.ts) and left out. The files run in a
// few processes side by side, several files to a process (scripts/test-group.ts).
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_REDIS_URL } from '../src/redis/connection.js'
import { redisAnswers, startEmbeddedRedis, type EmbeddedRedis } from '../src/redis/embedded.js'

// Files named *.slow.test.ts start real topologies or many processes (Sentinel,
// Cluster, chaos): SKIP_SLOW=1 leaves them out of a quick local run; CI runs all.
const fast = process.argv.includes('--fast')
const skipSlow = fast || process.env.SKIP_SLOW === '1'
// Tests wait on Redis and sockets far more than on the CPU: four groups at a time keep two cores busy.
const FAST_GROUPS = 4
const files = (await readdir('test'))
  .filter((f) => f.endsWith('.test.ts') && !(skipSlow && f.endsWith('.slow.test.ts')))
  .sort()
  .map((f) => join('test', f))
let url = process.env.REDIS_URL ?? DEFAULT_REDIS_URL
let embedded: EmbeddedRedis | null = null
let dataDir: string | null = null
if (!(await redisAnswers(url))) {
  if (process.env.REDIS_URL) {
    console.error(`No Redis answers at REDIS_URL=${url}`)
    process.exit(1)
  }
  dataDir = await mkdtemp(join(tmpdir(), 'batchdl-test-redis-'))
  embedded = await startEmbeddedRedis(dataDir)
  url = embedded.url
  console.log(`No Redis answered: started a throwaway redis-server at ${url}`)
}

const code = fast ? await runGroups(files, url) : await runFiles(files, url)
await embedded?.stop()
if (dataDir) await rm(dataDir, { recursive: true, force: true })
process.exit(code ?? 1)

async function runFiles(files: string[], redisUrl: string): Promise<number | null> {
  // A test that fails part-way can leave work in flight (a throttled download, a
  // process it was waiting for) that keeps its file's process alive: the run
  // must end with its report rather than wait for ever.
  const args = ['--test-force-exit', ...process.argv.slice(2)]
  const child = spawn(process.execPath, ['--import', 'tsx', '--test', ...args, ...files], {
    stdio: 'inherit',
    env: { ...process.env, REDIS_URL: redisUrl },
  })
  const [code] = (await once(child, 'exit')) as [number | null]
  return code
}

/** The files dealt round into FAST_GROUPS processes; each one's report is printed whole when it ends. */
async function runGroups(files: string[], redisUrl: string): Promise<number> {
  const groups = Array.from({ length: FAST_GROUPS }, (_, g) => files.filter((_, i) => i % FAST_GROUPS === g))
  const codes = await Promise.all(
    groups.map(async (group) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/test-group.ts', ...group], {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, REDIS_URL: redisUrl, TEST_FAST: '1' },
      })
      const out: Buffer[] = []
      child.stdout!.on('data', (d: Buffer) => out.push(d))
      const [code] = (await once(child, 'exit')) as [number | null]
      const report = Buffer.concat(out).toString()
      process.stdout.write(report)
      // Passed: it got through every test (a summary, or its own word) with none failed.
      const finished = /^# fail 0$/m.test(report) || /^# group ended after its last test$/m.test(report)
      const passed = code === 0 && finished && !/^\s*not ok /m.test(report)
      if (!passed) process.stdout.write(`# group failed, or did not finish: ${group.join(' ')}\n`)
      return passed
    }),
  )
  return codes.every(Boolean) ? 0 : 1
}
