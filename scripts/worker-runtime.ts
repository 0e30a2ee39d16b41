// The bench runs its worker the way docker-compose.yml runs one: the same node
// flags and the same runtime variables (those Node and libuv read, not batchdl's
// configuration, which the bench sets itself). Read from the file so the two
// cannot drift apart.
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'

export interface ComposeService {
  build?: string
  command?: string[]
  environment?: Record<string, string | number>
}

export interface Compose {
  services: Record<string, ComposeService>
}

export function readCompose(composeFile = 'docker-compose.yml'): Compose {
  return parse(readFileSync(composeFile, 'utf8')) as Compose
}

/** Variables of the runtime rather than of batchdl, which docker-compose may set. */
export const RUNTIME_VARIABLES = ['UV_THREADPOOL_SIZE'] as const

export interface WorkerRuntime {
  nodeArgs: string[]
  env: Record<string, string>
}

export function workerRuntime(composeFile = 'docker-compose.yml'): WorkerRuntime {
  const worker = readCompose(composeFile).services.worker
  if (!worker?.command) throw new Error(`${composeFile}: the worker service has no command`)
  const env: Record<string, string> = {}
  for (const name of RUNTIME_VARIABLES) {
    const value = worker.environment?.[name]
    if (value !== undefined) env[name] = String(value)
  }
  // ["node", ...flags, "dist/src/main.js"]
  return { nodeArgs: worker.command.slice(1, -1), env }
}
