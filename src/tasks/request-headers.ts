// The request headers a task may send with its downloads (`headers` of the
// task and of each file): which are refused, and how the two combine. Their
// values are secrets (cookies, tokens): no message here ever quotes one.

/** What a caller may never set: hop-by-hop headers, and those the download path writes itself. */
const REFUSED = new Map<string, string>([
  ['connection', 'a hop-by-hop header'],
  ['keep-alive', 'a hop-by-hop header'],
  ['proxy-connection', 'a hop-by-hop header'],
  ['proxy-authenticate', 'a hop-by-hop header'],
  ['proxy-authorization', 'a hop-by-hop header'],
  ['te', 'a hop-by-hop header'],
  ['trailer', 'a hop-by-hop header'],
  ['transfer-encoding', 'a hop-by-hop header'],
  ['upgrade', 'a hop-by-hop header'],
  ['host', 'set from the URL'],
  ['content-length', 'meaningless on a download request'],
  ['expect', 'meaningless on a download request'],
  ['range', 'set by the service to resume and split downloads'],
  ['if-range', 'set by the service to resume and split downloads'],
])

/** RFC 9110 token: what a header name may be made of. */
const NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
/** A field value undici sends as it is: tab, visible ASCII and Latin-1, no CR, LF or other control character. */
const VALUE = /^[\t\x20-\x7e\x80-\xff]*$/

/** Most bytes of one file's headers (task's and file's together), as "Name: value\r\n" lines. */
export const MAX_HEADER_BYTES = 8 * 1024

export type Headers = Record<string, string>

export interface Problem {
  path: string
  message: string
}

/** A name as a refusal may show it: quoted, and short. */
const shown = (name: string) => JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}...` : name)

/** JSON pointer escaping of one path segment. */
const pointer = (name: string) => name.replace(/~/g, '~0').replace(/\//g, '~1')

/** Every problem of one `headers` object, each at `path`/<name>. */
export function headerProblems(headers: Headers, path: string): Problem[] {
  const problems: Problem[] = []
  const seen = new Set<string>()
  for (const [name, value] of Object.entries(headers)) {
    const at = `${path}/${pointer(name)}`
    const lower = name.toLowerCase()
    if (!NAME.test(name)) {
      problems.push({ path: at, message: `header name ${shown(name)} is not a valid HTTP header name: letters, digits and dashes, no spaces, colons or other separators` })
      continue
    }
    const why = REFUSED.get(lower)
    if (why) problems.push({ path: at, message: `header ${shown(name)} may not be set: it is ${why}` })
    if (seen.has(lower)) problems.push({ path: at, message: `header ${shown(name)} is given twice: names are case-insensitive` })
    seen.add(lower)
    if (!VALUE.test(value)) {
      problems.push({ path: at, message: `header ${shown(name)} has a line break or control character in its value, which is not allowed` })
    }
  }
  return problems
}

/** What a file sends: the task's headers, overridden by the file's; names in lower case. */
export function mergeHeaders(task: Headers | undefined, file: Headers | undefined): Headers {
  const out: Headers = {}
  for (const [name, value] of Object.entries(task ?? {})) out[name.toLowerCase()] = value
  for (const [name, value] of Object.entries(file ?? {})) out[name.toLowerCase()] = value
  return out
}

/** Bytes of the headers as sent, one "Name: value\r\n" line each. */
export function headerBytes(headers: Headers): number {
  let n = 0
  for (const [name, value] of Object.entries(headers)) n += Buffer.byteLength(name, 'latin1') + Buffer.byteLength(value, 'latin1') + 4
  return n
}

export const sizeProblem = (bytes: number, what: string) =>
  `${what} ${bytes} bytes in all (names and values), more than the ${MAX_HEADER_BYTES} bytes (8 KiB) allowed`

/** The names only, sorted: what logs, answers and events may say of a task's headers. */
export const headerNames = (headers: Headers | undefined): string[] => Object.keys(headers ?? {}).map((n) => n.toLowerCase()).sort()
