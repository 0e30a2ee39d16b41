import { open, type FileHandle } from 'node:fs/promises'

const BATCH_BYTES = 1024 * 1024
/** A slow body still reaches the disk this often, so that a killed worker's successor can resume it. */
const FLUSH_INTERVAL_MS = 500

/**
 * Writes a download's chunks to its file in batches of about 1 MiB (or
 * every 500 ms when slower), one write in flight while the next batch fills
 * (reading and writing overlap).
 * Unlike a stream that an error destroys, close() always lands what was
 * received: after a reset, those bytes are what the next attempt resumes.
 */
export class FileSink {
  private batch: Buffer[] = []
  private batchBytes = 0
  private inflight: Promise<unknown> = Promise.resolve()
  private lastFlush = Date.now()

  private constructor(private readonly fh: FileHandle) {}

  /** `append`: continue a partial file; else truncate it. */
  static async open(path: string, append: boolean): Promise<FileSink> {
    return new FileSink(await open(path, append ? 'a' : 'w'))
  }

  /** Resolves once the chunk is accepted; rejects with the error of an earlier write. */
  async write(chunk: Buffer): Promise<void> {
    this.batch.push(chunk)
    this.batchBytes += chunk.length
    if (this.batchBytes >= BATCH_BYTES || Date.now() - this.lastFlush >= FLUSH_INTERVAL_MS) await this.flush()
  }

  /** Writes what is left and closes; after a failed write, closes and rethrows. */
  async close(): Promise<void> {
    try {
      await this.flush()
      await this.inflight
    } finally {
      await this.fh.close()
    }
  }

  private async flush(): Promise<void> {
    await this.inflight
    if (this.batch.length === 0) return
    const buffers = this.batch
    this.batch = []
    this.batchBytes = 0
    this.lastFlush = Date.now()
    const write = this.fh.writev(buffers)
    // Its failure is reported by the next write() or close(); until then it is not unhandled.
    write.catch(() => {})
    this.inflight = write
  }
}
