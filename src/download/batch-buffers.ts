// A download's bytes wait for their write in buffers kept for reuse, not in
// the socket's own chunks: a chunk held that long is promoted, and freeing it
// takes a mark-compact of the whole heap; copied at once, it dies young
// (docs/decisions/0013-batch-buffers.md).

/** The size of one batch: what a download writes in one call. */
export const BATCH_BYTES = 256 * 1024

/** The batch buffers of one worker process: taken by a FileSink as a batch starts, given back once it is written. */
export class BatchBuffers {
  private readonly free: Buffer[] = []

  /** `keep`: idle buffers kept for reuse; beyond it a given-back buffer is left to the GC. */
  constructor(private readonly keep = 128) {}

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(BATCH_BYTES)
  }

  give(buffer: Buffer): void {
    if (this.free.length < this.keep) this.free.push(buffer)
  }

  /** Lets the idle buffers go: the worker has no download left, and its idle GC may free them. */
  trim(): void {
    this.free.length = 0
  }
}
