import { Writable } from 'node:stream'
import { createLogger, type Logger } from '../../src/logger.js'

/** A logger whose lines (JSON text, one per entry) land in `lines`. */
export function captureLogs(level: string): { log: Logger; lines: string[] } {
  const lines: string[] = []
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean))
      done()
    },
  })
  return { log: createLogger(level, sink), lines }
}
