import { isIP } from 'node:net'
import { Type, type Static } from 'typebox'
import { Value } from 'typebox/value'
import { parseCidrs } from './net/address-policy.js'

// One schema for every role. Names and defaults of the first block are the
// external contract (SPEC section 5); the rest are operational knobs.
const Int = (def: number, min: number, description: string) =>
  Type.Integer({ default: def, minimum: min, description })
const List = (description: string) => Type.String({ default: '', description })

export const ConfigSchema = Type.Object({
  ROLE: Type.Enum(['all', 'api', 'worker'], { default: 'all', description: 'which parts this process runs' }),
  PORT: Type.Integer({ default: 3000, minimum: 0, maximum: 65535, description: 'API port' }),
  HOST: Type.String({ default: '127.0.0.1', minLength: 1, description: 'API address; anything but loopback requires API_KEYS' }),
  REDIS_URL: Type.Optional(
    Type.String({
      pattern: '^rediss?://',
      description: 'unset: 127.0.0.1:6379, or a private redis-server; in Sentinel and Cluster mode only its credentials, TLS (rediss://) and database',
    }),
  ),
  REDIS_SENTINELS: List('comma-separated host:port of the Sentinels (Sentinel mode, with REDIS_SENTINEL_MASTER)'),
  REDIS_SENTINEL_MASTER: Type.String({ default: '', description: 'the master name the Sentinels monitor' }),
  REDIS_SENTINEL_PASSWORD: Type.Optional(Type.String({ minLength: 1, description: 'the Sentinels\' own password, when they require one' })),
  REDIS_CLUSTER_NODES: List('comma-separated host:port of some Redis Cluster nodes (Cluster mode)'),
  REDIS_REPLICA_ACKS: Int(0, 0, 'replicas that must have each state change (Redis WAIT) before the service acts on it; 0: no wait'),
  REDIS_REPLICA_ACK_TIMEOUT_MS: Int(1000, 1, 'how long one WAIT for REDIS_REPLICA_ACKS lasts before the step fails (503, or the task run is retried)'),
  DOWNLOAD_DIR: Type.String({
    default: './downloads',
    minLength: 1,
    description: 'where task folders are written (a shared volume for workers on several machines)',
  }),
  QUEUE_PREFIX: Type.String({ default: 'bdl', pattern: '^[A-Za-z0-9_.-]{1,64}$', description: 'prefix of the service\'s own Redis keys' }),
  MAX_CONCURRENT_TASKS: Int(100, 1, 'tasks run at once by one worker process, sharing its connections fairly'),
  MAX_CONNECTIONS_PER_TASK: Int(20, 1, 'connections at once within one task'),
  MAX_CONCURRENT_DOWNLOADS: Int(100, 1, 'connections at once in one worker process'),
  MAX_CONNECTIONS_PER_HOST: Int(16, 1, 'connections at once to one origin host (host:port) from one worker process'),
  // Chosen by measurement: docs/decisions/0012-segment-min-bytes.md.
  SEGMENT_MIN_BYTES: Int(1024 ** 2, 0, 'no segment of a file fetched over several connections is smaller; 0: never split'),
  MAX_BYTES_PER_SECOND: Int(0, 0, 'download rate cap of one worker process, over all its tasks and connections, in bytes per second; 0: no cap'),
  MAX_FILES_PER_TASK: Int(10_000, 1, 'files in one task; more is a 413'),
  MAX_FILE_BYTES: Int(10 * 1024 ** 3, 1, 'a larger file fails with file_too_large'),
  RETRY_MAX_ATTEMPTS: Int(5, 1, 'attempts per file, the first one included'),
  RETRY_BASE_DELAY_MS: Int(500, 0, 'first retry delay; doubles each attempt, with jitter'),
  RETRY_MAX_DELAY_MS: Int(30_000, 0, 'cap of one retry delay, Retry-After included'),
  DOWNLOAD_CONNECT_TIMEOUT_MS: Int(10_000, 1, 'TCP and TLS connect'),
  DOWNLOAD_IDLE_TIMEOUT_MS: Int(30_000, 1, 'waiting for headers, and between two body chunks'),
  DOWNLOAD_MIN_SPEED_BYTES: Int(1024, 0, 'a body slower than this (bytes/s) over a whole window is cut and retried'),
  DOWNLOAD_MIN_SPEED_WINDOW_MS: Int(30_000, 100, 'the window of DOWNLOAD_MIN_SPEED_BYTES'),
  API_KEYS: List('comma-separated bearer keys; empty: no auth, loopback only'),
  CORS_ORIGINS: List('comma-separated exact origins'),
  DOWNLOAD_ALLOWED_HOSTS: List('comma-separated host patterns such as *.aliyuncs.com; empty: any public host'),
  DOWNLOAD_ALLOWED_CIDRS: List('comma-separated ranges exempt from the private-address guard'),
  WEBHOOK_SECRET: Type.Optional(Type.String({ minLength: 16, description: 'HMAC key of webhook signatures, 16 characters or more, the same in every process; unset: callback_url is refused' })),
  WEBHOOK_ALLOWED_CIDRS: List('comma-separated ranges a callback_url may reach besides public addresses'),
  WEBHOOK_MAX_ATTEMPTS: Int(10, 1, 'attempts per webhook delivery, the first one included'),
  WEBHOOK_RETRY_BASE_MS: Int(60_000, 1, 'first webhook retry delay; doubles each attempt, with jitter'),
  WEBHOOK_RETRY_MAX_DELAY_MS: Type.Integer({ default: 3_600_000, minimum: 1, maximum: 86_400_000, description: 'cap of one webhook retry delay' }),
  WEBHOOK_POLL_MS: Int(1000, 10, 'how often a worker looks for webhook deliveries that are due'),
  LEGACY_TASK_QUEUE: Type.String({ default: '', description: 'Redis list of the seed protocol to take tasks from; empty: off' }),
  LEGACY_REPLY_PREFIX: Type.String({ default: 'batch_download_resp', minLength: 1, description: 'reply lists are <prefix>_<task_id>' }),
  REPLY_TTL_SECONDS: Int(86_400, 1, 'the reply list expires this long after its last message'),
  TASK_RETENTION_SECONDS: Int(86_400, 0, 'a finished task\'s files and state are removed this long after its end; 0: kept'),
  SUBMIT_RATE_LIMIT_PER_MINUTE: Int(600, 0, 'POST /tasks per minute per API key (or client address without keys); 0: no limit'),
  TOKEN_SECRET: Type.Optional(
    Type.String({ minLength: 16, description: 'HMAC key of the tokens in events_url and archive_url; default: derived from API_KEYS; every API process must share it' }),
  ),
  TOKEN_TTL_SECONDS: Int(86_400, 1, 'lifetime of the tokens in events_url and archive_url'),
  SSE_HEARTBEAT_MS: Int(10_000, 100, 'heartbeat comment interval on event streams'),
  MAX_BODY_BYTES: Int(16 * 1024 ** 2, 1024, 'largest POST body; more is a 413'),
  JOB_LOCK_MS: Int(30_000, 1000, 'a worker that stops renewing its lock this long is presumed dead'),
  MAX_TASK_RESUMES: Int(20, 2, 'times a task is resumed after its worker died before it is failed'),
  SHUTDOWN_GRACE_MS: Int(10_000, 0, 'time running tasks get to finish on SIGTERM'),
  METRICS_PORT: Int(9464, 0, 'port of a ROLE=worker process\'s own /metrics (on HOST); 0: none'),
  METRICS_PUBLIC: Type.Boolean({ default: false, description: 'serve /metrics without an API key even when API_KEYS is set' }),
  LOG_LEVEL: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info', description: 'pino log level' }),
})

type ListName =
  | 'API_KEYS'
  | 'CORS_ORIGINS'
  | 'DOWNLOAD_ALLOWED_HOSTS'
  | 'DOWNLOAD_ALLOWED_CIDRS'
  | 'WEBHOOK_ALLOWED_CIDRS'
  | 'REDIS_SENTINELS'
  | 'REDIS_CLUSTER_NODES'
const LIST_NAMES: ListName[] = [
  'API_KEYS',
  'CORS_ORIGINS',
  'DOWNLOAD_ALLOWED_HOSTS',
  'DOWNLOAD_ALLOWED_CIDRS',
  'WEBHOOK_ALLOWED_CIDRS',
  'REDIS_SENTINELS',
  'REDIS_CLUSTER_NODES',
]

export type Config = Omit<Static<typeof ConfigSchema>, ListName> & { [K in ListName]: string[] }

export class ConfigError extends Error {
  readonly code = 'invalid_config'
}

/** Reads the configuration from an environment; throws ConfigError naming the variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const raw: Record<string, string> = {}
  for (const name of Object.keys(ConfigSchema.properties)) {
    const value = env[name]
    if (value !== undefined && value.trim() !== '') raw[name] = value.trim()
  }
  const parsed = Value.Convert(ConfigSchema, Value.Default(ConfigSchema, raw))
  const first = Value.Errors(ConfigSchema, parsed)[0]
  if (first) {
    const name = first.instancePath.replace(/^\//, '')
    const allowed = (first.params as { allowedValues?: unknown[] }).allowedValues
    const hint = allowed ? ` (one of ${allowed.join(', ')})` : ''
    throw new ConfigError(`${name} ${first.message}${hint}, got ${JSON.stringify(raw[name])}`)
  }
  const config = parsed as Static<typeof ConfigSchema>
  const lists = Object.fromEntries(LIST_NAMES.map((n) => [n, splitList(config[n])])) as Record<ListName, string[]>
  const result: Config = { ...config, ...lists }
  for (const name of ['DOWNLOAD_ALLOWED_CIDRS', 'WEBHOOK_ALLOWED_CIDRS'] as const) {
    try {
      parseCidrs(result[name])
    } catch (err) {
      throw new ConfigError(`${name} has an invalid range: ${(err as Error).message}`)
    }
  }
  checkRedisMode(result)
  if (result.API_KEYS.length === 0 && !isLoopbackHost(result.HOST)) {
    throw new ConfigError(`HOST ${result.HOST} is not a loopback address: set API_KEYS before listening on a network`)
  }
  return result
}

/** One mode at a time, each with what it needs; every node a host:port. */
function checkRedisMode(c: Config): void {
  if (c.REDIS_SENTINELS.length > 0 && c.REDIS_CLUSTER_NODES.length > 0) {
    throw new ConfigError('REDIS_SENTINELS and REDIS_CLUSTER_NODES are both set: choose Sentinel or Cluster mode')
  }
  if (c.REDIS_SENTINELS.length > 0 && !c.REDIS_SENTINEL_MASTER) {
    throw new ConfigError('REDIS_SENTINEL_MASTER is empty: Sentinel mode (REDIS_SENTINELS) needs the master name')
  }
  if (c.REDIS_SENTINEL_MASTER && c.REDIS_SENTINELS.length === 0) {
    throw new ConfigError('REDIS_SENTINELS is empty: REDIS_SENTINEL_MASTER needs the Sentinels\' addresses')
  }
  for (const name of ['REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'] as const) {
    const bad = c[name].find((node) => !HOST_PORT.test(node))
    if (bad !== undefined) throw new ConfigError(`${name} has ${JSON.stringify(bad)}, which is not host:port`)
  }
}

const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/

function splitList(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean)
}

export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true
  if (isIP(host) === 4) return host.startsWith('127.')
  return host === '::1'
}
