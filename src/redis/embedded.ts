// `npm start` on a machine with no Redis running: a private redis-server,
// loopback only, with its append-only file in a folder of the project.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdir } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'

export interface EmbeddedRedis {
  url: string
  stop(): Promise<void>
}

export class RedisMissingError extends Error {
  readonly code = 'redis_missing'
}

/** True when a Redis server answers PING at the URL within the time given. */
export async function redisAnswers(url: string, timeoutMs = 1000): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null })
  probe.on('error', () => {})
  try {
    await probe.connect()
    return (await probe.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    probe.disconnect()
  }
}

export async function startEmbeddedRedis(dataDir: string, port = 6379): Promise<EmbeddedRedis> {
  await mkdir(dataDir, { recursive: true })
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dataDir, '--appendonly', 'yes',
    '--save', '', '--maxmemory-policy', 'noeviction', '--daemonize', 'no']
  const child = spawn('redis-server', args, { stdio: 'ignore' })
  const failed = once(child, 'error').then(([err]) => {
    throw (err as NodeJS.ErrnoException).code === 'ENOENT'
      ? new RedisMissingError('redis-server is not installed: install it (apt-get install redis-server) or set REDIS_URL')
      : err
  })
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`redis-server exited with code ${String(code)}`)
  })
  const url = `redis://127.0.0.1:${port}`
  const ready = (async () => {
    for (let i = 0; i < 100; i++) {
      if (await redisAnswers(url, 200)) return
      await sleep(50)
    }
    throw new Error('redis-server did not answer within 5 s')
  })()
  try {
    await Promise.race([ready, failed, exited])
  } catch (err) {
    child.kill('SIGKILL')
    throw err
  }
  failed.catch(() => {})
  exited.catch(() => {})
  return { url, stop: () => stopChild(child) }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exit = once(child, 'exit')
  child.kill('SIGTERM') // redis-server flushes its append-only file and exits
  await exit
}
