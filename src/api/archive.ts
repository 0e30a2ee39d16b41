// GET /tasks/:id/archive: a zip of the task's finished files, streamed as it
// is built (file by file from disk, never the whole zip in memory or on
// disk), stored rather than deflated since images do not compress, zip64
// where a field would overflow. Its size is known before the first byte.
import { Readable } from 'node:stream'
import type { DiskCalls } from '../download/disk-calls.js'
import type { ZipNames } from '../zip/names.js'
import { planZip } from '../zip/plan.js'
import { Turns } from '../zip/turns.js'
import { zipChunks, type EntryReader, type EntrySource } from '../zip/writer.js'
import { taskFileSource } from './archive-files.js'

export interface Archive {
  stream: Readable
  /** the exact size of the zip, for Content-Length */
  size: number
}

/** A file made for the zip, not read from disk (REPORT.txt). */
export interface MadeFile {
  name: string
  content: Buffer
}

/**
 * The zip of the files named in `done.names`, of `done.sizes[i]` bytes, from `dir`,
 * after `made` (if any). Resolves once its first bytes are ready, so that a file missing at the start is an error
 * answer rather than a broken download; a file failing later errors the
 * stream (ArchiveFileError).
 */
export async function buildArchive(
  disk: DiskCalls,
  dir: string,
  done: { names: ZipNames; sizes: readonly number[] },
  modified: Date,
  made?: MadeFile,
): Promise<Archive> {
  const names = made ? done.names.withFirst(made.name) : done.names
  const sizes = made ? [made.content.length, ...done.sizes] : done.sizes
  // One clock for the plan and the writer: the plan's last piece and the writer's first share a turn.
  const turns = new Turns()
  const plan = await planZip(names, sizes, modified, turns)
  const files = taskFileSource(dir, disk)
  const source: EntrySource = made
    ? {
        open: (name, size, i) => (i === 0 ? Promise.resolve(bufferReader(made.content)) : files.open(name, size, i)),
        readNow: (name, size, i, target, at) => i !== 0 && files.readNow(name, size, i, target, at),
      }
    : files
  const chunks = zipChunks(plan, source, turns)
  const first = await chunks.next()
  const stream = Readable.from(startingWith(first, chunks), { objectMode: false })
  return { stream, size: plan.size }
}

function bufferReader(content: Buffer): EntryReader {
  let sent = false
  return {
    read: async () => (sent ? null : ((sent = true), content)),
    close: async () => {},
  }
}

/**
 * The chunks, the first one already taken. A plain iterator rather than a
 * generator: destroying the stream before it reads must still close the
 * zip, and with it the file it holds open.
 */
function startingWith(first: IteratorResult<Buffer>, rest: AsyncGenerator<Buffer>): AsyncIterable<Buffer> {
  let next: (() => Promise<IteratorResult<Buffer>>) | null = () => Promise.resolve(first)
  const iterator: AsyncIterator<Buffer> = {
    next: () => {
      const step = next ?? (() => rest.next())
      next = null
      return step()
    },
    return: () => rest.return(undefined),
    throw: (err: unknown) => rest.throw(err),
  }
  return { [Symbol.asyncIterator]: () => iterator }
}
