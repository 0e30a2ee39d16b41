// The node floor, in a process of its own run as the worker is (node flags,
// thread pool size): undici receiving the job's files with the given
// parallelism and throwing the bytes away (no disk, no Redis). Reads
// {urls, parallel} as JSON on stdin, prints {wallS, cpuS} as JSON.
import { text } from 'node:stream/consumers'
import { Agent } from 'undici'

const { urls, parallel } = JSON.parse(await text(process.stdin)) as { urls: string[]; parallel: number }
const agent = new Agent({ pipelining: 1 })
const receive = (url: string) =>
  new Promise<void>((resolve, reject) => {
    const { origin, pathname, search } = new URL(url)
    agent.dispatch(
      { origin, path: pathname + search, method: 'GET' },
      {
        onConnect: () => {},
        onHeaders: (status) => {
          if (status !== 200) reject(new Error(`${url}: ${status}`))
          return true
        },
        onData: () => true,
        onComplete: () => resolve(),
        onError: reject,
      },
    )
  })
const cpu0 = process.cpuUsage()
const t0 = performance.now()
let next = 0
const lane = async () => {
  while (next < urls.length) await receive(urls[next++]!)
}
await Promise.all(Array.from({ length: parallel }, lane))
const wallS = (performance.now() - t0) / 1000
const cpu = process.cpuUsage(cpu0)
await agent.close()
process.stdout.write(JSON.stringify({ wallS, cpuS: (cpu.user + cpu.system) / 1e6 }))
