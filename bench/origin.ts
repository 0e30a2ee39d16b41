// The test origin in a process of its own, for the benchmark. In the
// benchmark's process it would share an event loop with the reader of
// batchdl's reply list (a BRPOP per file), which no peer's run has: the
// origin would answer batchdl later than curl and aria2c.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { originUrl } from '../testkit/origin.js'

export interface OriginProcess {
  base: string
  url(name: string, params?: Record<string, string | number>): string
  /** The most requests in progress at once since the last call. */
  peak(): Promise<number>
  stop(): Promise<void>
}

/** Starts bench/origin-server.ts and waits for the address it prints. */
export async function startOriginProcess(): Promise<OriginProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'bench/origin-server.ts'], { stdio: ['pipe', 'pipe', 'inherit'] })
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string]
  const base = line.trim()
  return {
    base,
    url: (name, params) => originUrl(base, name, params),
    async peak() {
      return ((await (await fetch(`${base}/peak`)).json()) as { peak: number }).peak
    },
    async stop() {
      const exit = once(child, 'exit')
      child.stdin!.end() // the child stops when its stdin closes
      await exit
    },
  }
}
