// A redis-server that speaks TLS only and requires a password, with a
// certificate signed by a CA made for it: for rediss:// URLs.
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { freePort } from './free-port.js'
import { waitFor } from './env.js'
import { serverOf, spawnServer, stopAll } from './redis-server.js'

const run = promisify(execFile)

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
