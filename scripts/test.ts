// `npm test` after lint and type check: runs every test file against the Redis
// at REDIS_URL (default 127.0.0.1:6379), or, when none answers there and
// REDIS_URL is unset, against a throwaway redis-server started for the run.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_REDIS_URL } from '../src/redis/connection.js'
import { redisAnswers, startEmbeddedRedis, type EmbeddedRedis } from '../src/redis/embedded.js'

// Files named *.slow.test.ts start real topologies or many processes (Sentinel,
// Cluster, chaos): SKIP_SLOW=1 leaves them out of a quick local run; CI runs all.
const skipSlow = process.env.SKIP_SLOW === '1'
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

const child = spawn(process.execPath, ['--import', 'tsx', '--test', ...process.argv.slice(2), ...files], {
  stdio: 'inherit',
  env: { ...process.env, REDIS_URL: url },
})
const [code] = (await once(child, 'exit')) as [number | null]
await embedded?.stop()
if (dataDir) await rm(dataDir, { recursive: true, force: true })
process.exit(code ?? 1)
