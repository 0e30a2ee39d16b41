// The entry point: the only module that touches `process`.
import { resolve } from 'node:path'
import { ConfigError, loadConfig, type Config } from './config.js'
import { createLogger } from './logger.js'
import { DEFAULT_REDIS_URL, redisModeOf } from './redis/connection.js'
import { redisAnswers, startEmbeddedRedis, type EmbeddedRedis } from './redis/embedded.js'
import { startRoles } from './roles.js'

// Beside ./downloads: both are relative to where `npm start` runs, the project.
const EMBEDDED_REDIS_DIR = resolve('.redis-data')

let config: Config
try {
  config = loadConfig(process.env)
} catch (err) {
  if (!(err instanceof ConfigError)) throw err
  process.stderr.write(`batchdl: invalid configuration: ${err.message}\n`)
  process.exit(1)
}
const log = createLogger(config.LOG_LEVEL)

let embedded: EmbeddedRedis | null = null
try {
  if (!config.REDIS_URL && redisModeOf(config) === 'single' && !(await redisAnswers(DEFAULT_REDIS_URL))) {
    embedded = await startEmbeddedRedis(EMBEDDED_REDIS_DIR)
    log.warn({ url: embedded.url, dir: EMBEDDED_REDIS_DIR }, 'no Redis answered and REDIS_URL is unset: started a private redis-server')
    config = { ...config, REDIS_URL: embedded.url }
  }
  const service = await startRoles(config, log)
  log.info({ role: config.ROLE, address: service.address }, 'batchdl started')

  let stopping = false
  const stop = async (signal: string) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now')
      process.exit(1)
    }
    stopping = true
    log.info({ signal }, 'stopping')
    await service.close()
    await embedded?.stop()
    log.info('stopped')
    process.exit(0)
  }
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void stop(signal))
} catch (err) {
  log.fatal({ err }, 'cannot start')
  await embedded?.stop()
  process.exit(1)
}
