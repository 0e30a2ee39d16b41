// Real Redis topologies for the tests of production modes: a primary with
// replicas watched by three Sentinels, and a Cluster of three masters. Every
// server runs in a folder of its own under the system's temp dir, on free
// loopback ports, and is killed by stop(). One more speaks TLS only and
// requires a password, with a certificate signed by a CA made for it.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { freePort } from './free-port.js'
import { waitFor } from './service.js'

const run = promisify(execFile)

export interface RedisServer {
  port: number
  child: ChildProcess
  kill(signal?: NodeJS.Signals): Promise<void>
}

async function spawnServer(bin: string, args: string[]): Promise<ChildProcess> {
  const child = spawn(bin, args, { stdio: 'ignore' })
  child.on('error', () => {}) // a missing binary shows as a server that never answers
  return child
}

function serverOf(port: number, child: ChildProcess): RedisServer {
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

/** Kills the servers and removes their folder: how every topology here stops. */
async function stopAll(servers: RedisServer[], dir: string): Promise<void> {
  for (const s of servers) await s.kill()
  await rm(dir, { recursive: true, force: true })
}

const answers = (port: number) => ask(port, 'PING').then((r) => (r === 'PONG' ? true : undefined), () => undefined)

async function startRedisServer(dir: string, port: number, extra: string[] = []): Promise<RedisServer> {
  const child = await spawnServer('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', ...extra])
  await waitFor(() => answers(port), 10_000, `redis-server on ${port}`)
  return serverOf(port, child)
}

export interface Replicated {
  url: string
  servers: RedisServer[]
  stop(): Promise<void>
}

/** A private primary with `replicas` replicas, no Sentinel: for REDIS_REPLICA_ACKS without a failover. */
export async function startReplicated(replicas = 1): Promise<Replicated> {
  const dir = await mkdtemp(join(tmpdir(), 'batchdl-replicated-'))
  const primary = await startRedisServer(dir, await freePort(), ['--dbfilename', 'p.rdb'])
  const servers = [primary]
  for (let i = 0; i < replicas; i++) {
    servers.push(await startRedisServer(dir, await freePort(), ['--dbfilename', `r${i}.rdb`, '--replicaof', '127.0.0.1', String(primary.port)]))
  }
  await waitFor(async () => {
    const info = String(await ask(primary.port, 'INFO', 'replication'))
    return (info.match(/state=online/g) ?? []).length === replicas ? true : undefined
  }, 20_000, 'replicas online')
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
  const servers: RedisServer[] = []
  const sentinels: RedisServer[] = []
  const primary = await startRedisServer(dir, await freePort(), ['--dbfilename', 'p.rdb'])
  servers.push(primary)
  for (let i = 0; i < replicas; i++) {
    servers.push(await startRedisServer(dir, await freePort(), ['--dbfilename', `r${i}.rdb`, '--replicaof', '127.0.0.1', String(primary.port)]))
  }
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
  await waitFor(async () => {
    const info = String(await ask(primary.port, 'INFO', 'replication'))
    return (info.match(/state=online/g) ?? []).length === replicas ? true : undefined
  }, 20_000, 'replicas online')
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

export interface TlsRedis {
  port: number
  /** the throwaway CA that signed the server's certificate (PEM) */
  ca: Buffer
  /** its file, for NODE_EXTRA_CA_CERTS */
  caFile: string
  password: string
  /** REDIS_URL for the service: rediss:// with the password */
  url: string
  /** a client on the TLS port that trusts the CA and knows the password */
  connect(): Redis
  stop(): Promise<void>
}

/**
 * A redis-server that speaks TLS only (no plain port) and requires a password,
 * with a certificate for 127.0.0.1 and localhost signed by a CA made here.
 */
export async function startTlsRedis(password: string): Promise<TlsRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'batchdl-tls-'))
  const file = (name: string) => join(dir, name)
  await writeFile(file('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n')
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir })
  await openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=batchdl test CA', '-keyout', 'ca.key', '-out', 'ca.pem')
  await openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr')
  await openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'san.ext', '-out', 'server.pem')
  const ca = await readFile(file('ca.pem'))
  const port = await freePort()
  const child = await spawnServer('redis-server', [
    '--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--dir', dir,
    '--tls-cert-file', file('server.pem'), '--tls-key-file', file('server.key'), '--tls-ca-cert-file', file('ca.pem'),
    '--tls-auth-clients', 'no', '--requirepass', password, '--save', '', '--appendonly', 'no',
  ])
  const connect = () => new Redis({ host: '127.0.0.1', port, password, tls: { ca }, maxRetriesPerRequest: 1 })
  const answers = async () => {
    const redis = new Redis({ host: '127.0.0.1', port, password, tls: { ca }, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    redis.on('error', () => {})
    try {
      await redis.connect()
      return (await redis.ping()) === 'PONG' ? true : undefined
    } catch {
      return undefined
    } finally {
      redis.disconnect()
    }
  }
  const server = serverOf(port, child)
  try {
    await waitFor(answers, 20_000, `redis-server with TLS on ${port}`)
  } catch (err) {
    await stopAll([server], dir)
    throw err
  }
  return {
    port,
    ca,
    caFile: file('ca.pem'),
    password,
    url: `rediss://:${encodeURIComponent(password)}@127.0.0.1:${port}`,
    connect,
    stop: () => stopAll([server], dir),
  }
}
