// One redis-server (or redis-sentinel) of a test topology: started on a free
// loopback port in a folder of its own, asked one command at a time, killed.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { rm } from 'node:fs/promises'
import { Redis } from 'ioredis'
import { waitFor } from './env.js'

export interface RedisServer {
  port: number
  child: ChildProcess
  kill(signal?: NodeJS.Signals): Promise<void>
}

export async function spawnServer(bin: string, args: string[]): Promise<ChildProcess> {
  const child = spawn(bin, args, { stdio: 'ignore' })
  child.on('error', () => {}) // a missing binary shows as a server that never answers
  return child
}

export function serverOf(port: number, child: ChildProcess): RedisServer {
  return {
    port,
    child,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exit = once(child, 'exit')
      child.kill(signal)
      await exit
    },
  }
}

/** Runs one command on a server and closes the connection. */
export async function ask(port: number, ...args: (string | number)[]): Promise<unknown> {
  const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  redis.on('error', () => {})
  try {
    await redis.connect()
    return await redis.call(String(args[0]), ...args.slice(1).map(String))
  } finally {
    redis.disconnect()
  }
}

/** Kills the servers and removes their folder: how every topology stops. */
export async function stopAll(servers: RedisServer[], dir: string): Promise<void> {
  for (const s of servers) await s.kill()
  await rm(dir, { recursive: true, force: true })
}

/** true once the server on `port` answers PING, else undefined (for waitFor). */
export const answers = (port: number) => ask(port, 'PING').then((r) => (r === 'PONG' ? true : undefined), () => undefined)

export async function startRedisServer(dir: string, port: number, extra: string[] = []): Promise<RedisServer> {
  const child = await spawnServer('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', ...extra])
  await waitFor(() => answers(port), 10_000, `redis-server on ${port}`)
  return serverOf(port, child)
}
