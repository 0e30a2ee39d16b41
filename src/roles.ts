// Starts the parts of the program the ROLE asks for, and stops them in reverse.
// Each role (API, worker) gets its backend (connection, queue, store) once.
import { openBackend } from './backend.js'
import type { Config } from './config.js'
import type { Logger } from './logger.js'
import { createMetrics, serveMetrics } from './metrics.js'
import { startWorker } from './worker/worker.js'

export interface RunningRoles {
  /** the API's address, when this process serves it */
  address: string | null
  close(): Promise<void>
}

export async function startRoles(config: Config, log: Logger): Promise<RunningRoles> {
  const closers: (() => Promise<void>)[] = []
  const close = async () => {
    for (const c of closers.reverse()) {
      try {
        await c()
      } catch (err) {
        log.error({ err }, 'error while stopping')
      }
    }
  }
  let address: string | null = null
  const metrics = createMetrics()
  try {
    if (config.ROLE !== 'api') {
      const backend = openBackend(config, 'worker', log)
      closers.push(() => backend.close())
      const worker = await startWorker(config, backend, log, metrics)
      closers.push(() => worker.close())
      if (config.ROLE === 'worker' && config.METRICS_PORT > 0) {
        const server = await serveMetrics(
          metrics,
          { host: config.HOST, port: config.METRICS_PORT, apiKeys: config.API_KEYS, isPublic: config.METRICS_PUBLIC },
          log,
        )
        if (server) closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
      }
      if (config.LEGACY_TASK_QUEUE) {
        // Loaded only when configured: it brings the submit path (validation, archives) into a worker.
        const { startLegacyIntake } = await import('./legacy/intake.js')
        const intake = await startLegacyIntake(config, backend, log)
        closers.push(() => intake.close())
      }
    }
    if (config.ROLE !== 'worker') {
      const backend = openBackend(config, 'api', log)
      closers.push(() => backend.close())
      // Loaded only where it runs: a worker process never pays for the HTTP stack.
      const { buildApp } = await import('./app.js')
      const app = await buildApp(config, { backend, logger: log, metrics })
      closers.push(() => app.close())
      address = await app.listen({ port: config.PORT, host: config.HOST })
    }
  } catch (err) {
    await close()
    throw err
  }
  return { address, close }
}
