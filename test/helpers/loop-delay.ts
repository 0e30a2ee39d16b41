// Preloaded into a child service (spawnService's `preload`) by tests that bound
// how long its event loop is held. Node's own 1 ms timer histogram, finer than
// prom-client's 10 ms one (whose maximum is the 10 ms tick plus the delay), with
// the process's CPU time and GC pauses beside it. On SIGUSR2 it writes one
// line to stderr, `loop-delay {...}`, covering the time since the previous one.
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks'

/** The timer's period: a gap between two ticks is at most the time the loop was held plus this. */
const RESOLUTION_MS = 1

const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
histogram.enable()
let gc = { count: 0, totalMs: 0, maxMs: 0 }
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gc.count++
    gc.totalMs += entry.duration
    gc.maxMs = Math.max(gc.maxMs, entry.duration)
  }
}).observe({ entryTypes: ['gc'] })
let cpu = process.cpuUsage()
let seq = 0

process.on('SIGUSR2', () => {
  const used = process.cpuUsage(cpu)
  const report = {
    seq: ++seq,
    /** the longest gap between two ticks of the 1 ms timer */
    maxMs: histogram.max / 1e6,
    p99Ms: histogram.percentile(99) / 1e6,
    ticks: histogram.count,
    cpuMs: (used.user + used.system) / 1000,
    gc,
  }
  histogram.reset()
  gc = { count: 0, totalMs: 0, maxMs: 0 }
  cpu = process.cpuUsage()
  process.stderr.write(`loop-delay ${JSON.stringify(report)}\n`)
})
