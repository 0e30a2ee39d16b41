// What survives of an interrupted download between attempts (and between
// workers, since DOWNLOAD_DIR is shared): the bytes received, and beside them
// the validator and size of the version they belong to.
import { readFile, rm, stat, writeFile } from 'node:fs/promises'
import type { IncomingHttpHeaders } from 'node:http'

export interface PartialMeta {
  /** a strong ETag or a Last-Modified date, for If-Range */
  validator: string
  /** the whole file's size */
  size: number
}

/**
 * Smaller files are not worth resuming: refetching them costs less than the
 * bookkeeping, which is most of the work for a file of a few KiB.
 */
export const RESUME_MIN_BYTES = 64 * 1024

/** A partial file that can be resumed: the bytes on disk and the version they belong to. */
export interface Resumable {
  offset: number
  meta: PartialMeta
}

const metaPath = (tmp: string) => `${tmp}.json`

/** The partial file to resume, or null when there is none that can be. */
export async function loadPartial(tmp: string): Promise<Resumable | null> {
  let meta: PartialMeta
  try {
    meta = JSON.parse(await readFile(metaPath(tmp), 'utf8')) as PartialMeta
  } catch {
    return null
  }
  const size = await stat(tmp).then((s) => s.size, () => 0)
  if (size === 0 || size >= meta.size || typeof meta.validator !== 'string') return null
  return { offset: size, meta }
}

/** Records what the bytes being written belong to; null: this version cannot be resumed. */
export async function savePartialMeta(tmp: string, meta: PartialMeta | null): Promise<void> {
  if (meta) await writeFile(metaPath(tmp), JSON.stringify(meta))
  else await rm(metaPath(tmp), { force: true })
}

export async function clearPartial(tmp: string): Promise<void> {
  await rm(tmp, { force: true })
  await rm(metaPath(tmp), { force: true })
}

/** If-Range needs a strong validator: a strong ETag, else Last-Modified. */
export function validatorOf(headers: IncomingHttpHeaders): string | null {
  const etag = headers.etag
  if (typeof etag === 'string' && etag.startsWith('"')) return etag
  const modified = headers['last-modified']
  return typeof modified === 'string' ? modified : null
}
