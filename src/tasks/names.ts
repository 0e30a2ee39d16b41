// File names on disk (SPEC section 4): what `fn` may be, and the `saved_as`
// each file gets in its task folder.

const MAX_NAME_BYTES = 255
// C0 and C1 control characters, DEL, and both path separators.
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f/\\]/
// Invisible formatting characters (bidirectional overrides, zero-width
// characters, BOM) and line or paragraph separators: they make a name show
// as another one ("a\u202egpj.exe" reads "aexe.jpg").
const INVISIBLE = /[\p{Cf}\p{Zl}\p{Zp}]/u
const SAFE_EXTENSION = /^[A-Za-z0-9]{1,16}$/

const byteLength = (s: string) => Buffer.byteLength(s, 'utf8')

/** Why `fn` cannot be a file name in the task folder, or null when it can. */
export function fileNameProblem(fn: string): string | null {
  if (fn.length === 0) return 'must not be empty'
  if (fn === '.' || fn === '..') return 'must not be "." or ".."'
  if (FORBIDDEN.test(fn)) return 'must not contain "/", "\\", NUL or control characters'
  if (INVISIBLE.test(fn)) {
    return 'must not contain invisible formatting characters (right-to-left overrides, zero-width characters, byte order marks, line separators)'
  }
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

/** Name and extension; an extension that leaves no room for a stem and a suffix counts as part of the name. */
function splitExtension(name: string, room: number): [stem: string, ext: string] {
  const dot = name.lastIndexOf('.')
  if (dot <= 0 || byteLength(name.slice(dot)) >= room) return [name, '']
  return [name.slice(0, dot), name.slice(dot)]
}

/** Cuts a string to at most `max` bytes of UTF-8 without splitting a character. */
function truncateBytes(s: string, max: number): string {
  const bytes = Buffer.from(s, 'utf8')
  if (bytes.length <= max) return s
  let end = max
  // Back up to the first byte of the character that would be cut.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--
  return bytes.subarray(0, end).toString('utf8')
}

/** `name` with `suffix` before its extension, the stem shortened so that the whole fits in 255 bytes. */
function withSuffix(name: string, suffix: string): string {
  const [stem, ext] = splitExtension(name, MAX_NAME_BYTES - byteLength(suffix))
  return truncateBytes(stem, MAX_NAME_BYTES - byteLength(suffix) - byteLength(ext)) + suffix + ext
}

const collisionKey = (name: string) => name.normalize('NFC').toLowerCase()

/**
 * The names files are saved under, in submission order: `fn`, plus the URL's
 * extension when `fn` has no dot; names that collide case-insensitively after
 * NFC get " (2)", " (3)"... before the extension. A suffix or an added
 * extension shortens the stem, so no name is over 255 bytes. Linear in the
 * file count: each name remembers the next number to try, so 10,000 equal
 * names do not each try every number before theirs. Every `fn` must have
 * passed fileNameProblem().
 */
export function assignSavedNames(files: readonly { fn: string; url: string }[]): string[] {
  const taken = new Set<string>()
  const nextNumber = new Map<string, number>()
  return files.map(({ fn, url }) => {
    const ext = fn.includes('.') ? null : urlExtension(url)
    const base = ext ? withSuffix(fn, `.${ext}`) : fn
    const baseKey = collisionKey(base)
    let name = base
    let n = nextNumber.get(baseKey) ?? 2
    while (taken.has(collisionKey(name))) name = withSuffix(base, ` (${n++})`)
    nextNumber.set(baseKey, n)
    taken.add(collisionKey(name))
    return name
  })
}
