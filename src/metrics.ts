// Prometheus metrics, one registry per process. A worker process reports what
// it downloads; an API process reports the queue's depth on each scrape. In
// ROLE=all both land in one registry, served by the API at /metrics; a
// ROLE=worker process serves its own on METRICS_PORT.
import { createServer, type Server } from 'node:http'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import { UnauthorizedError } from './errors.js'
import { keyChecker } from './http/auth.js'
import type { Logger } from './logger.js'

export type Metrics = ReturnType<typeof createMetrics>

export function createMetrics() {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const registers = [registry]
  return {
    registry,
    tasksFinished: new Counter({ name: 'batchdl_tasks_finished_total', help: 'Tasks ended, by final state', labelNames: ['state'], registers }),
    filesFinished: new Counter({
      name: 'batchdl_files_finished_total',
      help: 'Files ended, by outcome (done, failed, cancelled) and error code',
      labelNames: ['outcome', 'error'],
      registers,
    }),
    bytes: new Counter({ name: 'batchdl_downloaded_bytes_total', help: 'Bytes of the files saved', registers }),
    retries: new Counter({ name: 'batchdl_download_retries_total', help: 'Download attempts after the first', registers }),
    activeDownloads: new Gauge({ name: 'batchdl_active_downloads', help: 'Downloads holding a connection in this process', registers }),
    fileSeconds: new Histogram({
      name: 'batchdl_file_duration_seconds',
      help: 'Time from taking a file up (the wait for a connection included) to its end',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    }),
    taskSeconds: new Histogram({
      name: 'batchdl_task_duration_seconds',
      help: 'Time a worker spent running a task (one run)',
      buckets: [0.5, 1, 2.5, 5, 10, 30, 60, 180, 600, 1800, 3600],
      registers,
    }),
    webhookDeliveries: new Counter({
      name: 'batchdl_webhook_deliveries_total',
      help: 'Webhook attempts, by outcome: delivered, retry (failed, another attempt is due), failed (for good)',
      labelNames: ['outcome'],
      registers,
    }),
    queueJobs: new Gauge({ name: 'batchdl_queue_jobs', help: 'Tasks in the queue, by state', labelNames: ['state'], registers }),
  }
}

export interface MetricsServerOptions {
  host: string
  port: number
  /** API_KEYS: a scrape needs one of them, unless isPublic */
  apiKeys: readonly string[]
  isPublic: boolean
}

/**
 * A worker process's own /metrics endpoint, or null when its port is taken:
 * several workers on one host must all start, and only one can have the port.
 */
export async function serveMetrics(metrics: Metrics, opts: MetricsServerOptions, log: Logger): Promise<Server | null> {
  const { host, port } = opts
  const keyOf = keyChecker(opts.isPublic ? [] : opts.apiKeys)
  const needsKey = !opts.isPublic && opts.apiKeys.length > 0
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end()
      return
    }
    if (needsKey && keyOf(req.headers.authorization) === null) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify(new UnauthorizedError().toBody()))
      return
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    )
  })
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => {
        server.off('error', reject)
        resolve()
      })
    })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    log.warn(
      { port, host, code },
      `metrics port ${port} is not available (${code}): this worker serves no /metrics; give each worker process its own METRICS_PORT, or 0`,
    )
    return null
  }
  server.on('error', (err) => log.error({ err }, 'metrics server error'))
  return server
}
