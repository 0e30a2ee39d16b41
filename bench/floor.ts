// The node floor, in a process of its own run as the worker is (node flags,
// thread pool size): undici receiving the job's files with the given
// parallelism, no Redis, no queue. Without `dir` the bytes are thrown away:
// what any Node downloader can at best do here. With `dir` each file is
// written as the worker writes it (FileSink and DiskCalls, opened while the
// request is out): the floor plus batchdl's disk path, so that the table
// shows what receiving, writing and the service each cost.
// Reads {urls, names, parallel, dir?} as JSON on stdin, prints {wallS, cpuS} as JSON.
import { join } from 'node:path'
import { text } from 'node:stream/consumers'
import { pino } from 'pino'
import { Agent } from 'undici'
import { BatchBuffers } from '../src/download/batch-buffers.js'
import { DiskCalls } from '../src/download/disk-calls.js'
import { FileSink } from '../src/download/file-sink.js'
import { createLogger } from '../src/logger.js'

const { urls, names, parallel, dir } = JSON.parse(await text(process.stdin)) as { urls: string[]; names: string[]; parallel: number; dir?: string }
const agent = new Agent({ pipelining: 1 })
// A disk found slow is reported on stderr, which the bench passes through.
const batches = new BatchBuffers()
const disk = dir ? new DiskCalls(createLogger('warn', pino.destination(2))) : null

const receive = (url: string, index: number) =>
  new Promise<void>((resolve, reject) => {
    const { origin, pathname, search } = new URL(url)
    const opening = disk ? FileSink.open(disk, batches, join(dir!, names[index]!), false) : null
    let sink: FileSink | null = null
    agent.dispatch(
      { origin, path: pathname + search, method: 'GET' },
      {
        onRequestStart: () => {},
        onResponseStart: (controller, status) => {
          if (status !== 200) return reject(new Error(`${url}: ${status}`))
          if (!opening) return
          controller.pause()
          opening.then((s) => {
            sink = s
            controller.resume()
          }, reject)
        },
        onResponseData: (controller, chunk) => {
          const wait = sink?.push(chunk)
          if (!wait) return
          controller.pause()
          wait.then(() => controller.resume(), reject)
        },
        onResponseEnd: () => {
          if (sink) sink.close().then(resolve, reject)
          else resolve()
        },
        onResponseError: (_controller, err) => reject(err),
      },
    )
  })

const cpu0 = process.cpuUsage()
const t0 = performance.now()
let next = 0
const lane = async () => {
  while (next < urls.length) {
    const index = next++
    await receive(urls[index]!, index)
  }
}
await Promise.all(Array.from({ length: parallel }, lane))
const wallS = (performance.now() - t0) / 1000
const cpu = process.cpuUsage(cpu0)
await agent.close()
process.stdout.write(JSON.stringify({ wallS, cpuS: (cpu.user + cpu.system) / 1e6 }))
