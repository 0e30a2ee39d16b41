// The last step of a transfer whose requests all ended well: the bytes on
// disk are the whole file (its size) and the one asked for (its sha256,
// through FileDigest); only then does the partial file take its final name,
// and its resume record go.
import type { DiskCalls } from './disk-calls.js'
import { DownloadError } from './errors.js'
import type { FileDigest } from './file-digest.js'
import { ResumeState } from './resume-state.js'

export interface Transferred {
  bytes: number
  size: number | null
  status: number
}

export interface Completion extends Transferred {
  disk: DiskCalls
  digest: FileDigest
  tmp: string
  dest: string
  /** whether the file has a resume record to remove */
  recorded: boolean
}

/** Throws size_mismatch or checksum_mismatch (neither resumable), else renames the file into place. */
export async function completeFile(c: Completion): Promise<Transferred> {
  const { bytes, size, status } = c
  if (size !== null && bytes !== size) {
    throw new DownloadError('size_mismatch', true, `received ${bytes} bytes of ${size}`, status).notResumable()
  }
  if (c.digest.wanted) await c.digest.check(c.tmp, status)
  await c.disk.rename(c.tmp, c.dest)
  if (c.recorded) await ResumeState.forget(c.tmp)
  return { bytes, size, status }
}
