// GET /tasks/:id/archive: a zip of the task's finished files, streamed as it
// is built (file by file from disk, never the whole zip in memory or on
// disk), stored rather than deflated since images do not compress, zip64 when
// past 4 GiB or 65,535 entries.
import { createReadStream } from 'node:fs'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { ZipFile } from 'yazl'

export interface ArchiveEntry {
  saved_as: string
  bytes: number
}

export interface Archive {
  stream: Readable
  /** the exact size of the zip, for Content-Length */
  size: number
}

export function buildArchive(dir: string, entries: readonly ArchiveEntry[]): Promise<Archive> {
  const zip = new ZipFile()
  for (const e of entries) {
    // Sizes are known, so yazl can tell the zip's final size before writing it.
    zip.addReadStreamLazy(e.saved_as, { compress: false, size: e.bytes }, (cb) => cb(null, createReadStream(join(dir, e.saved_as))))
  }
  return new Promise((resolve) => {
    // @types/yazl lags yazl 3: the callback does receive the final size.
    const onSize = ((size: number) => resolve({ stream: zip.outputStream as Readable, size })) as () => void
    zip.end(undefined, onSize)
  })
}
