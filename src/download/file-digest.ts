// The sha256 a file must match, when one was given: computed as the bytes
// come while they come in order through one request, else read back from the
// partial file at the end (a split, a range given up, a resumed file).
import { createHash, type Hash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { DownloadError } from './errors.js'

const READ_BUFFER = 1024 * 1024

export class FileDigest {
  private hash: Hash | null = null
  private atEnd = false

  constructor(private readonly expected: string | undefined) {}

  /** Whether a sha256 was asked for: only then is there anything to check. */
  get wanted(): boolean {
    return this.expected !== undefined
  }

  /** The hash the bytes go through as they come, while they come in order; read per chunk. */
  get live(): Hash | null {
    return this.hash
  }

  /** The file's bytes come from byte 0, in order. */
  fromStart(): void {
    this.hash = this.expected ? createHash('sha256') : null
    this.atEnd = false
  }

  /** Bytes are on disk already, or no longer come in order: the file is read back at the end. */
  outOfOrder(): void {
    this.hash = null
    this.atEnd = this.expected !== undefined
  }

  /** Throws checksum_mismatch unless the file at `path` has the bytes asked for; only when `wanted`. */
  async check(path: string, status: number): Promise<void> {
    const digest = this.atEnd ? await hashFile(path) : this.hash!.digest('hex')
    if (digest !== this.expected) {
      throw new DownloadError('checksum_mismatch', true, 'sha256 of the bytes differs from the one requested', status).notResumable()
    }
  }
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path, { highWaterMark: READ_BUFFER })) hash.update(chunk as Buffer)
  return hash.digest('hex')
}
