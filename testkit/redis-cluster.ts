// A Redis Cluster of three masters for the tests of cluster mode, on free
// loopback ports (each with its bus port free too); stop() kills it.
import { execFile } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort } from './free-port.js'
import { waitFor } from './env.js'
import { ask, startRedisServer, stopAll, type RedisServer } from './redis-server.js'

const run = promisify(execFile)

/** A free port whose cluster bus port (+10000) is free too. */
async function freeClusterPort(): Promise<number> {
  for (;;) {
    const port = await freePort()
    if (port + 10_000 > 65_535) continue
    const bus = createServer()
    const free = await new Promise<boolean>((resolve) => {
      bus.once('error', () => resolve(false))
      bus.listen(port + 10_000, '127.0.0.1', () => resolve(true))
    })
    if (free) {
      await new Promise((resolve) => bus.close(resolve))
      return port
    }
  }
}

export interface RedisCluster {
  /** REDIS_CLUSTER_NODES for the service */
  nodes: string
  servers: RedisServer[]
  stop(): Promise<void>
}

/** Three masters, no replicas, every slot assigned. */
export async function startCluster(): Promise<RedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'batchdl-cluster-'))
  const servers: RedisServer[] = []
  for (let i = 0; i < 3; i++) {
    const port = await freeClusterPort()
    servers.push(await startRedisServer(dir, port, ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--dbfilename', `c${i}.rdb`]))
  }
  const nodes = servers.map((s) => `127.0.0.1:${s.port}`)
  await run('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'])
  await waitFor(async () => {
    for (const s of servers) {
      if (!/cluster_state:ok/.test(String(await ask(s.port, 'CLUSTER', 'INFO')))) return undefined
    }
    return true
  }, 20_000, 'cluster state ok')
  return {
    nodes: nodes.join(','),
    servers,
    stop: () => stopAll(servers, dir),
  }
}

