// Lays out a zip from its entries' names and sizes alone (format.ts has the
// records): every entry's offset, and the archive's exact size, before a byte
// is written. A bounded slice of entries per turn of the event loop, and columns
// (typed arrays) and a table of names in one buffer (names.ts) rather than an
// object or a string per entry, so that planning 10,000 entries neither holds
// the loop nor fills the young generation with what lives as long as the zip
// (docs/decisions/0011-zip-event-loop.md).
import { centralLength, endLength, entryLength, MAX_NAME_BYTES, needsZip64End, type ZipPlan } from './format.js'
import type { ZipNames } from './names.js'
import { Turns } from './turns.js'

/** Entries planned between two looks at the clock. */
const CLOCK_EVERY = 256

/** The plan of a zip of name i with `sizes[i]` bytes each, in that order, every entry dated `modified`. */
export async function planZip(names: ZipNames, sizes: readonly number[], modified: Date, turns = new Turns()): Promise<ZipPlan> {
  const count = names.count
  if (sizes.length !== count) throw new RangeError(`${count} zip entry names for ${sizes.length} sizes`)
  const plan: ZipPlan = {
    names,
    sizes: new Float64Array(count),
    offsets: new Float64Array(count),
    centralOffset: 0,
    centralSize: 0,
    zip64End: false,
    size: 0,
    ...dosDateTime(modified),
  }
  let offset = 0
  let centralSize = 0
  for (let i = 0; i < count; i++) {
    if (i % CLOCK_EVERY === 0 && turns.due()) await turns.take()
    const size = sizes[i]!
    const nameLength = names.byteLength(i)
    if (nameLength === 0 || nameLength > MAX_NAME_BYTES) throw new RangeError(`zip entry name of ${nameLength} bytes`)
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`zip entry ${names.name(i)} has size ${size}`)
    plan.sizes[i] = size
    plan.offsets[i] = offset
    centralSize += centralLength(nameLength, size, offset)
    offset += entryLength(nameLength, size)
  }
  plan.centralOffset = offset
  plan.centralSize = centralSize
  plan.zip64End = needsZip64End(count, centralSize, offset)
  plan.size = offset + centralSize + endLength(plan.zip64End)
  if (!Number.isSafeInteger(plan.size)) throw new RangeError(`a zip of ${plan.size} bytes`)
  return plan
}

/** 4.4.6: local time, two-second resolution, years 1980 to 2107. */
function dosDateTime(d: Date): { dosTime: number; dosDate: number } {
  const year = Math.min(Math.max(d.getFullYear(), 1980), 2107)
  return {
    dosTime: (d.getHours() << 11) | (d.getMinutes() << 5) | (d.getSeconds() >> 1),
    dosDate: ((year - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  }
}
