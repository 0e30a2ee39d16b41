// A task's finished files as zip entries, read from disk and checked against
// the size the task recorded: a file removed or changed since fails its zip
// with a clear error instead of yielding a zip that lies.
import { read } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { DiskCalls } from '../download/disk-calls.js'
import { AppError } from '../errors.js'
import type { EntryReader, EntrySource } from '../zip/writer.js'

export type ArchiveFileErrorCode = 'file_missing' | 'file_changed' | 'file_unreadable'

/** A file of the task could not go into its zip. Before the first byte it is the answer (500); after, it ends the response. */
export class ArchiveFileError extends AppError {
  constructor(
    code: ArchiveFileErrorCode,
    readonly file: string,
    message: string,
    options?: { cause: unknown },
  ) {
    super(500, code, message)
    if (options) this.cause = options.cause
  }
}

/** Read size: large enough for few calls, small enough that memory stays flat. */
const CHUNK_BYTES = 256 * 1024
/**
 * A read up to this size goes through DiskCalls (on the event loop while the
 * disk is fast): a hand-over to the thread pool costs more than the read
 * itself, and 10,000 small files made 30,000 of them (docs/decisions/0011-zip-event-loop.md).
 */
const SMALL_READ_BYTES = 64 * 1024

// Plain descriptors rather than FileHandle objects: at 10,000 small files a
// FileHandle's set-up was most of the zip's CPU. The writer closes each one.
const readInPool = promisify(read)

/** Entries named by saved_as, read from the task's folder; open, close and small reads through `disk`. */
export function taskFileSource(dir: string, disk: DiskCalls): Required<EntrySource> {
  // The folder once: path.join() per entry normalised the whole path again, a sixth of the zip's garbage.
  const folder = join(dir, '/')
  return {
    async open(name: string, size: number): Promise<EntryReader> {
      checkName(name)
      try {
        return new FileReader(disk, await disk.open(folder + name, 'r'), name, size)
      } catch (err) {
        throw fileError(err, name)
      }
    },
    // A small file in one synchronous stretch while the disk is fast (docs/decisions/0011-zip-event-loop.md).
    readNow(name: string, size: number, _index: number, target: Buffer, at: number): boolean {
      checkName(name)
      let bytesRead: number | null
      try {
        // One byte past the end, as FileReader does: a file that grew shows here.
        bytesRead = disk.readSmallFile(folder + name, target, at, size + 1)
      } catch (err) {
        throw fileError(err, name)
      }
      if (bytesRead === null) return false
      if (bytesRead !== size) throw fileChanged(name, size, bytesRead > size ? 'more' : `only ${bytesRead}`)
      return true
    },
  }
}

/** saved_as is a plain name (checked at submit); a path here would be a bug, never followed. */
function checkName(name: string): void {
  if (name.includes('/') || name === '.' || name === '..') {
    throw new ArchiveFileError('file_unreadable', name, `${name} is not a file name`)
  }
}

/**
 * Reads exactly `size` bytes, and proves there is no more: each read asks
 * for one byte past what is left, so a file that grew shows on the last
 * read, and one that shrank shows as an early end.
 */
class FileReader implements EntryReader {
  private position = 0
  private ended = false

  constructor(
    private readonly disk: DiskCalls,
    private readonly fd: number,
    private readonly name: string,
    private readonly size: number,
  ) {}

  async read(): Promise<Buffer | null> {
    if (this.ended) return null
    const left = this.size - this.position
    const want = Math.min(CHUNK_BYTES, left + 1)
    const buf = Buffer.allocUnsafe(want)
    let bytesRead: number
    try {
      bytesRead =
        want <= SMALL_READ_BYTES
          ? await this.disk.read(this.fd, buf, want, this.position)
          : (await readInPool(this.fd, buf, 0, want, this.position)).bytesRead
    } catch (err) {
      throw fileError(err, this.name)
    }
    if (bytesRead > left) throw fileChanged(this.name, this.size, 'more')
    if (bytesRead === 0) {
      if (left > 0) throw fileChanged(this.name, this.size, `only ${this.position}`)
      this.ended = true
      return null
    }
    this.position += bytesRead
    // The byte past the end was asked for and not there: the file ends where it should.
    if (this.position === this.size && bytesRead < want) this.ended = true
    return bytesRead === want ? buf : buf.subarray(0, bytesRead)
  }

  close(): Promise<void> {
    return this.disk.close(this.fd)
  }
}

function fileChanged(name: string, size: number, has: string): ArchiveFileError {
  return new ArchiveFileError('file_changed', name, `${name} changed on disk: it has ${has} bytes where the task saved ${size}`)
}

function fileError(err: unknown, name: string): ArchiveFileError {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'ENOENT') return new ArchiveFileError('file_missing', name, `${name} is no longer on disk`, { cause: err })
  return new ArchiveFileError('file_unreadable', name, `${name} cannot be read (${code ?? 'error'})`, { cause: err })
}
