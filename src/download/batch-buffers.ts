// A download's bytes wait for their write in buffers kept for reuse, not in
// the socket's own chunks: a chunk held until its batch is written lives
// through two scavenges and is promoted, and its memory then comes back only
// in a mark-compact of the whole heap, which V8 runs for every 64 MB so held
// (docs/decisions/0013-batch-buffers.md). Copied at once, a chunk dies young.

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
}
