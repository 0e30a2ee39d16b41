// File names on disk (SPEC section 4): what `fn` may be, and the `saved_as`
// each file gets in its task folder.

const MAX_NAME_BYTES = 255
// C0 and C1 control characters, DEL, and both path separators.
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f/\\]/
const SAFE_EXTENSION = /^[A-Za-z0-9]{1,16}$/

const byteLength = (s: string) => Buffer.byteLength(s, 'utf8')

/** Why `fn` cannot be a file name in the task folder, or null when it can. */
export function fileNameProblem(fn: string): string | null {
  if (fn.length === 0) return 'must not be empty'
  if (fn === '.' || fn === '..') return 'must not be "." or ".."'
  if (FORBIDDEN.test(fn)) return 'must not contain "/", "\\", NUL or control characters'
  if (byteLength(fn) > MAX_NAME_BYTES) return `must be at most ${MAX_NAME_BYTES} bytes of UTF-8`
  return null
}

/**
 * The extension of the URL's last path segment ("jpg" for
 * https://h/a/cat.jpg?Signature=x), never taken from the query string.
 */
export function urlExtension(url: string): string | null {
  let path: string
  try {
    path = new URL(url).pathname
  } catch {
    return null
  }
  const last = path.slice(path.lastIndexOf('/') + 1)
  const dot = last.lastIndexOf('.')
  if (dot <= 0) return null
  const ext = last.slice(dot + 1)
  return SAFE_EXTENSION.test(ext) ? ext : null
}

function splitExtension(name: string): [stem: string, ext: string] {
  const dot = name.lastIndexOf('.')
  return dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, '']
}

/** Cuts a string to at most `max` bytes of UTF-8 without splitting a character. */
function truncateBytes(s: string, max: number): string {
  if (byteLength(s) <= max) return s
  let out = ''
  for (const ch of s) {
    if (byteLength(out + ch) > max) break
    out += ch
  }
  return out
}

const collisionKey = (name: string) => name.normalize('NFC').toLowerCase()

/**
 * The names files are saved under, in submission order: `fn`, plus the URL's
 * extension when `fn` has no dot; names that collide case-insensitively after
 * NFC get " (2)", " (3)"... before the extension. Every `fn` must have passed
 * fileNameProblem().
 */
export function assignSavedNames(files: readonly { fn: string; url: string }[]): string[] {
  const taken = new Set<string>()
  return files.map(({ fn, url }) => {
    let base = fn
    const ext = fn.includes('.') ? null : urlExtension(url)
    if (ext && byteLength(`${fn}.${ext}`) <= MAX_NAME_BYTES) base = `${fn}.${ext}`
    let name = base
    for (let n = 2; taken.has(collisionKey(name)); n++) {
      const [stem, extension] = splitExtension(base)
      const suffix = ` (${n})${extension}`
      name = truncateBytes(stem, MAX_NAME_BYTES - byteLength(suffix)) + suffix
    }
    taken.add(collisionKey(name))
    return name
  })
}
