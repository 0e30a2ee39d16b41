// A private primary with replicas, and the same watched by three Sentinels
// that fail over after a second without the primary: for REDIS_REPLICA_ACKS
// and Sentinel mode. Every server is killed, its folder removed, by stop().
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './free-port.js'
import { waitFor } from './env.js'
import { answers, ask, serverOf, spawnServer, startRedisServer, stopAll, type RedisServer } from './redis-server.js'

export interface Replicated {
  url: string
  servers: RedisServer[]
  stop(): Promise<void>
}

/** A private primary with `replicas` replicas, no Sentinel: for REDIS_REPLICA_ACKS without a failover. */
export async function startReplicated(replicas = 1): Promise<Replicated> {
  const dir = await mkdtemp(join(tmpdir(), 'batchdl-replicated-'))
  const servers = await startPrimary(dir, replicas)
  const primary = servers[0]!
  await replicasOnline(primary.port, replicas)
  return {
    url: `redis://127.0.0.1:${primary.port}`,
    servers,
    stop: () => stopAll(servers, dir),
  }
}

export interface SentinelSet {
  master: string
  /** REDIS_SENTINELS for the service */
  sentinels: string
  /** the servers, the first one the primary at start */
  servers: RedisServer[]
  sentinelPorts: number[]
  /** the port of the primary the Sentinels name now */
  primaryPort(): Promise<number>
  /** Starts a server that was killed again, on its port: the Sentinels make it a replica of the current primary. */
  restart(server: RedisServer): Promise<RedisServer>
  stop(): Promise<void>
}

/** A primary, `replicas` replicas and three Sentinels that fail over after a second without the primary. */
export async function startSentinelSet(replicas = 2): Promise<SentinelSet> {
  const dir = await mkdtemp(join(tmpdir(), 'batchdl-sentinel-'))
  const master = 'bdlmaster'
  const servers = await startPrimary(dir, replicas)
  const primary = servers[0]!
  const sentinels: RedisServer[] = []
  for (let i = 0; i < 3; i++) {
    const port = await freePort()
    const conf = join(dir, `sentinel-${i}.conf`)
    await writeFile(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${master} 127.0.0.1 ${primary.port} 2`,
        `sentinel down-after-milliseconds ${master} 1000`,
        `sentinel failover-timeout ${master} 5000`,
        `sentinel parallel-syncs ${master} 1`,
        '',
      ].join('\n'),
    )
    const child = await spawnServer('redis-sentinel', [conf])
    await waitFor(() => answers(port), 10_000, `redis-sentinel on ${port}`)
    sentinels.push(serverOf(port, child))
  }
  // Every replica in sync and known to the Sentinels before a test relies on a failover.
  await replicasOnline(primary.port, replicas)
  await waitFor(async () => {
    const known = (await ask(sentinels[0]!.port, 'SENTINEL', 'REPLICAS', master)) as unknown[]
    return known.length === replicas ? true : undefined
  }, 20_000, 'replicas known to the Sentinels')
  return {
    master,
    sentinels: sentinels.map((s) => `127.0.0.1:${s.port}`).join(','),
    servers,
    sentinelPorts: sentinels.map((s) => s.port),
    async primaryPort() {
      const [, port] = (await ask(sentinels[0]!.port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', master)) as [string, string]
      return Number(port)
    },
    async restart(server) {
      const i = servers.indexOf(server)
      const again = await startRedisServer(dir, server.port, ['--dbfilename', `again-${i}.rdb`])
      servers[i] = again
      return again
    },
    stop: () => stopAll([...sentinels, ...servers], dir),
  }
}

/** A primary and `replicas` replicas of it, the primary first. */
async function startPrimary(dir: string, replicas: number): Promise<RedisServer[]> {
  const primary = await startRedisServer(dir, await freePort(), ['--dbfilename', 'p.rdb'])
  const servers = [primary]
  for (let i = 0; i < replicas; i++) {
    servers.push(await startRedisServer(dir, await freePort(), ['--dbfilename', `r${i}.rdb`, '--replicaof', '127.0.0.1', String(primary.port)]))
  }
  return servers
}

/** Waits until the primary on `port` has `replicas` replicas in sync. */
async function replicasOnline(port: number, replicas: number): Promise<void> {
  await waitFor(async () => {
    const info = String(await ask(port, 'INFO', 'replication'))
    return (info.match(/state=online/g) ?? []).length === replicas ? true : undefined
  }, 20_000, 'replicas online')
}
