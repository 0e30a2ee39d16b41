// `npm test` after lint and type check: runs every test file against the Redis
// at REDIS_URL (default 127.0.0.1:6379), or, when none answers there and
// REDIS_URL is unset, against a throwaway redis-server started for the run.
// With --fast (`npm run test:fast`, the edit loop): unit and in-process tests
// only; suites that start processes or run long are marked
// `skip: notInFastRun` (testkit/service.ts) and left out. The files run in a
// few processes side by side, several files to a process (scripts/test-group.ts),
// dealt out by how long each took the last time (scripts/test-times.ts).
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { DEFAULT_REDIS_URL } from '../src/redis/connection.js'
import { redisAnswers, startEmbeddedRedis, type EmbeddedRedis } from '../src/redis/embedded.js'

// Files named *.slow.test.ts start real topologies or many processes (Sentinel,
// Cluster, chaos): SKIP_SLOW=1 leaves them out of a quick local run; CI runs all.
const fast = process.argv.includes('--fast')
const skipSlow = fast || process.env.SKIP_SLOW === '1'
// Tests wait on Redis and sockets far more than on the CPU: four groups at a time keep two cores busy.
const FAST_GROUPS = 4
/** How long each file's tests took in the last fast run (ms); kept with npm's other caches, never committed. */
const TIMES_FILE = 'node_modules/.cache/batchdl/test-times.json'
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

/**
 * The files dealt into FAST_GROUPS processes, longest first, each to the group
 * with the least time so far: the run takes as long as its longest group.
 * A file with no time yet counts as the mean of those known.
 */
function deal(files: string[], times: Record<string, number>, groups: number): string[][] {
  const known = files.map((f) => times[f]).filter((t) => t !== undefined)
  const guess = known.length > 0 ? known.reduce((a, b) => a + b, 0) / known.length : 1
  const weight = (f: string) => times[f] ?? guess
  const dealt = Array.from({ length: groups }, () => ({ files: [] as string[], total: 0 }))
  for (const file of [...files].sort((a, b) => weight(b) - weight(a) || a.localeCompare(b))) {
    const lightest = dealt.reduce((min, g) => (g.total < min.total ? g : min))
    lightest.files.push(file)
    lightest.total += weight(file)
  }
  // Each group's files in name order, as a reader of its report expects.
  return dealt.map((g) => g.files.sort())
}

/** Runs the groups side by side; each one's report is printed whole when it ends. */
async function runGroups(files: string[], redisUrl: string): Promise<number> {
  const times = JSON.parse(await readFile(TIMES_FILE, 'utf8').catch(() => '{}')) as Record<string, number>
  const next: Record<string, number> = {}
  const reporters = ['--test-reporter=tap', '--test-reporter-destination=stdout', '--test-reporter=./scripts/test-times.ts', '--test-reporter-destination=stderr']
  const codes = await Promise.all(
    deal(files, times, FAST_GROUPS).map(async (group) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--test-force-exit', ...reporters, 'scripts/test-group.ts', ...group], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, REDIS_URL: redisUrl, TEST_FAST: '1' },
      })
      const out: Buffer[] = []
      child.stdout!.on('data', (d: Buffer) => out.push(d))
      // The times reporter writes to stderr; whatever else comes there is the tests' own.
      const ran: Record<string, number> = {}
      createInterface({ input: child.stderr! }).on('line', (line) => {
        const time = /^# time (\S+) (\d+)$/.exec(line)
        if (time) ran[time[1]!] = (ran[time[1]!] ?? 0) + Number(time[2])
        else process.stderr.write(`${line}\n`)
      })
      // Closed, not only exited: every line of both reports is in.
      const [code] = (await once(child, 'close')) as [number | null]
      const report = Buffer.concat(out).toString()
      process.stdout.write(report)
      const passed = code === 0 && /^# fail 0$/m.test(report) && !/^\s*not ok /m.test(report)
      if (!passed) process.stdout.write(`# group failed, or did not finish: ${group.join(' ')}\n`)
      // A file all of whose tests are left out of the fast run takes no time; one of a group that crashed keeps its last.
      for (const file of group) if (ran[file] !== undefined || passed) next[file] = ran[file] ?? 0
      return passed
    }),
  )
  await mkdir(dirname(TIMES_FILE), { recursive: true })
  await writeFile(TIMES_FILE, `${JSON.stringify({ ...times, ...next }, null, 2)}\n`)
  return codes.every(Boolean) ? 0 : 1
}
