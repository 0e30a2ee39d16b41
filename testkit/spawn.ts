// The real program as a child process, started from the sources or the build.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'

export interface ChildService {
  child: ChildProcess
  address: string | null
  logs: string[]
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/**
 * The real program as a child process; resolves once it logged "batchdl
 * started". From the sources through tsx, or, with `built`, as production runs
 * it: dist/src/main.js (run `npm run build` first). `preload`: modules (URLs)
 * imported before the program, after tsx, so they may be TypeScript.
 */
export async function spawnService(
  env: Record<string, string>,
  opts: { built?: boolean; nodeArgs?: string[]; preload?: string[]; startTimeoutMs?: number; onSpawn?: (child: ChildProcess) => void } = {},
): Promise<ChildService> {
  const preload = (opts.preload ?? []).flatMap((url) => ['--import', url])
  if (opts.built && preload.length > 0) throw new Error('preload needs tsx: it is for a service run from the sources')
  const args = [...(opts.nodeArgs ?? []), ...(opts.built ? ['dist/src/main.js'] : ['--import', 'tsx', ...preload, 'src/main.ts'])]
  const child = spawn(process.execPath, args, {
    // The start is read from the log: at least info, whatever the test environment says.
    env: { ...process.env, ...env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  opts.onSpawn?.(child)
  const logs: string[] = []
  const lines = createInterface({ input: child.stdout! })
  child.stderr!.on('data', (d: Buffer) => logs.push(d.toString()))
  let timer: NodeJS.Timeout | undefined
  const started = new Promise<string | null>((resolve, reject) => {
    const ms = opts.startTimeoutMs ?? 20_000
    timer = setTimeout(() => {
      // Not left running: a child that starts late would keep the test file from ever exiting.
      child.kill('SIGKILL')
      reject(new Error(`service did not start in ${ms} ms: ${logs.join('\n')}`))
    }, ms)
    lines.on('line', (line) => {
      logs.push(line)
      // Parsed only when it may be the one: a loaded API logs thousands of lines a second.
      if (!line.includes('batchdl started')) return
      try {
        const entry = JSON.parse(line) as { msg?: string; address?: string | null }
        if (entry.msg === 'batchdl started') resolve(entry.address ?? null)
      } catch {
        // not a log line
      }
    })
    child.once('exit', (code) => reject(new Error(`service exited (${code}) before starting: ${logs.join('\n')}`)))
  })
  // One that did not start is not left running behind the test.
  const address = await started.catch((err: unknown) => {
    child.kill('SIGKILL')
    throw err
  }).finally(() => clearTimeout(timer))
  return {
    child,
    address,
    logs,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
      const exit = once(child, 'exit')
      child.kill(signal)
      const [code] = (await exit) as [number | null]
      return code
    },
  }
}
