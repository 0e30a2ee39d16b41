// A task's file list is one JSON array in Redis: about 2 MB for 10,000 files,
// which JSON.parse takes 8 to 20 ms to read in one go, and decoding it from
// UTF-8 into a string another 2 ms. Readers that must not hold the event loop
// (the zip) take its bytes, and decode and parse a slice of elements at a time,
// giving the loop a turn between slices.
import { setImmediate as turn } from 'node:timers/promises'

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const OPEN_BRACE = 0x7b
const OPEN_BRACKET = 0x5b
const CLOSE_BRACE = 0x7d
const CLOSE_BRACKET = 0x5d

/**
 * The elements of the JSON array in `json` (UTF-8), `size` at a time, with a
 * turn of the event loop before each slice after the first. Elements are
 * found by a scan of the bytes that follows strings and nesting, so commas
 * inside values never split one (and, being ASCII, never fall inside a
 * multi-byte character); each slice is then decoded and read by JSON.parse,
 * which also rejects malformed text.
 */
export async function* jsonArraySlices<T>(json: Buffer, size: number): AsyncGenerator<T[], void, undefined> {
  let i = json.indexOf(OPEN_BRACKET)
  if (i < 0) throw new SyntaxError('not a JSON array')
  let start = i + 1
  let count = 0
  let depth = 0
  let first = true
  for (i = start; i < json.length; i++) {
    const c = json[i]
    if (c === QUOTE) {
      // Skip to the closing quote, past escaped characters.
      for (i++; i < json.length; i++) {
        const s = json[i]
        if (s === BACKSLASH) i++
        else if (s === QUOTE) break
      }
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      depth++
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (depth-- > 0) continue
      // The array's own end: what is left is the last slice.
      const rest = json.toString('utf8', start, i)
      if (rest.trim() !== '') {
        if (!first) await turn()
        yield JSON.parse(`[${rest}]`) as T[]
      }
      return
    } else if (c === COMMA && depth === 0 && ++count === size) {
      if (!first) await turn()
      first = false
      yield JSON.parse(`[${json.toString('utf8', start, i)}]`) as T[]
      start = i + 1
      count = 0
    }
  }
  throw new SyntaxError('unterminated JSON array')
}
