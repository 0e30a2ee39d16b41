// The zip format as this service writes it (PKWARE APPNOTE.TXT 6.3.x; section
// numbers below are the note's): stored entries, each followed by a data
// descriptor, so that the CRC-32 is computed while the bytes stream; UTF-8
// names; zip64 only where a field would overflow.
//
// Every size and offset follows from the entries' names and sizes alone, so
// planZip() lays out the whole archive before a byte is written: the writer
// follows the plan, and Content-Length is the plan's size. One function
// decides each record's shape for both, so the two cannot disagree.

/** Record signatures (4.3.7, 4.3.9.3, 4.3.12, 4.3.14, 4.3.15, 4.3.16). */
const SIG_LOCAL = 0x04034b50
const SIG_DESCRIPTOR = 0x08074b50
const SIG_CENTRAL = 0x02014b50
const SIG_ZIP64_END = 0x06064b50
const SIG_ZIP64_LOCATOR = 0x07064b50
const SIG_END = 0x06054b50

const LOCAL_LEN = 30
const CENTRAL_LEN = 46
const ZIP64_END_LEN = 56
const ZIP64_LOCATOR_LEN = 20
const END_LEN = 22

/** 4.4.4: bit 3, sizes and CRC-32 in the data descriptor; bit 11, the name is UTF-8. */
const FLAGS = (1 << 3) | (1 << 11)
/** 4.4.3: 2.0 for data descriptors, 4.5 for zip64. */
const VERSION_PLAIN = 20
const VERSION_ZIP64 = 45
/** 4.4.2: upper byte 3 = Unix, so that external attributes carry a file mode. */
const MADE_BY = (3 << 8) | VERSION_ZIP64
/** 4.4.15: a regular file, rw-r--r--, in the high 16 bits for Unix. */
const EXTERNAL_ATTRS = (0o100644 << 16) >>> 0

/** 0xFFFF and 0xFFFFFFFF mean "see the zip64 record" (4.4.1.4), so they are overflow too. */
const MAX16 = 0xffff
const MAX32 = 0xffffffff
const ZIP64_EXTRA_TAG = 0x0001

export interface ZipEntry {
  /** the name inside the zip, a plain file name */
  name: string
  size: number
}

export interface PlannedEntry extends ZipEntry {
  /** the name's length in UTF-8 */
  nameLength: number
  /** where its local header starts */
  offset: number
  /** its size needs 8 bytes: zip64 extra fields in both headers, and a zip64 data descriptor */
  zip64Size: boolean
  /** its offset needs 8 bytes: a zip64 extra field in its central header */
  zip64Offset: boolean
}

export interface ZipPlan {
  entries: PlannedEntry[]
  centralOffset: number
  centralSize: number
  /** entry count, central directory size or offset overflow: zip64 end records (4.3.14, 4.3.15) */
  zip64End: boolean
  /** the archive's length in bytes */
  size: number
  /** MS-DOS time and date of every entry (4.4.6) */
  dosTime: number
  dosDate: number
}

/** The parts of an entry's records whose length depends on zip64: local extra field, data descriptor, central extra field. */
const localExtraLen = (e: PlannedEntry) => (e.zip64Size ? 20 : 0)
const descriptorLen = (e: PlannedEntry) => (e.zip64Size ? 24 : 16)
const centralExtraLen = (e: PlannedEntry) => (e.zip64Size || e.zip64Offset ? 4 + (e.zip64Size ? 16 : 0) + (e.zip64Offset ? 8 : 0) : 0)

/** Lays out the archive: every entry's offset and record shapes, and the total size. */
export function planZip(entries: readonly ZipEntry[], modified: Date): ZipPlan {
  const planned: PlannedEntry[] = []
  let offset = 0
  let centralSize = 0
  for (const { name, size } of entries) {
    const nameLength = Buffer.byteLength(name, 'utf8')
    if (nameLength === 0 || nameLength > MAX16) throw new RangeError(`zip entry name of ${nameLength} bytes`)
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`zip entry ${name} has size ${size}`)
    const e: PlannedEntry = { name, size, nameLength, offset, zip64Size: size >= MAX32, zip64Offset: offset >= MAX32 }
    planned.push(e)
    offset += LOCAL_LEN + nameLength + localExtraLen(e) + size + descriptorLen(e)
    centralSize += CENTRAL_LEN + nameLength + centralExtraLen(e)
  }
  const zip64End = planned.length >= MAX16 || centralSize >= MAX32 || offset >= MAX32
  const size = offset + centralSize + (zip64End ? ZIP64_END_LEN + ZIP64_LOCATOR_LEN : 0) + END_LEN
  if (!Number.isSafeInteger(size)) throw new RangeError(`a zip of ${size} bytes`)
  return { entries: planned, centralOffset: offset, centralSize, zip64End, size, ...dosDateTime(modified) }
}

/** 4.4.6: local time, two-second resolution, years 1980 to 2107. */
function dosDateTime(d: Date): { dosTime: number; dosDate: number } {
  const year = Math.min(Math.max(d.getFullYear(), 1980), 2107)
  return {
    dosTime: (d.getHours() << 11) | (d.getMinutes() << 5) | (d.getSeconds() >> 1),
    dosDate: ((year - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  }
}

/** The name in UTF-8; an ASCII name byte by byte, which costs a tenth of a call into the encoder. */
function writeName(b: Buffer, e: PlannedEntry, at: number): void {
  if (e.nameLength === e.name.length) {
    let i = 0
    for (; i < e.name.length; i++) {
      const c = e.name.charCodeAt(i)
      if (c >= 0x80) break
      b[at + i] = c
    }
    if (i === e.name.length) return
  }
  b.write(e.name, at, 'utf8')
}

/**
 * 4.3.7 local file header. CRC-32 and sizes are zero (they follow in the data
 * descriptor, 4.4.4 bit 3); for a zip64 entry the 32-bit sizes say 0xFFFFFFFF
 * and a zip64 extra field (4.5.3) is present, which tells readers that the
 * data descriptor holds 8-byte sizes (4.3.9.2).
 */
export function localHeader(plan: ZipPlan, e: PlannedEntry): Buffer {
  const b = Buffer.alloc(LOCAL_LEN + e.nameLength + localExtraLen(e))
  b.writeUInt32LE(SIG_LOCAL, 0)
  b.writeUInt16LE(e.zip64Size ? VERSION_ZIP64 : VERSION_PLAIN, 4)
  b.writeUInt16LE(FLAGS, 6)
  // method 0 (stored) at 8, CRC-32 0 at 14
  b.writeUInt16LE(plan.dosTime, 10)
  b.writeUInt16LE(plan.dosDate, 12)
  if (e.zip64Size) {
    b.writeUInt32LE(MAX32, 18)
    b.writeUInt32LE(MAX32, 22)
  }
  b.writeUInt16LE(e.nameLength, 26)
  b.writeUInt16LE(localExtraLen(e), 28)
  writeName(b, e, LOCAL_LEN)
  if (e.zip64Size) {
    const x = LOCAL_LEN + e.nameLength
    b.writeUInt16LE(ZIP64_EXTRA_TAG, x)
    b.writeUInt16LE(16, x + 2)
    // original and compressed sizes: 0 here too, the descriptor has them
  }
  return b
}

/** 4.3.9 data descriptor, with its signature (4.3.9.3); 8-byte sizes for a zip64 entry. */
export function dataDescriptor(e: PlannedEntry, crc: number): Buffer {
  const b = Buffer.alloc(descriptorLen(e))
  b.writeUInt32LE(SIG_DESCRIPTOR, 0)
  b.writeUInt32LE(crc, 4)
  if (e.zip64Size) {
    b.writeBigUInt64LE(BigInt(e.size), 8)
    b.writeBigUInt64LE(BigInt(e.size), 16)
  } else {
    b.writeUInt32LE(e.size, 8)
    b.writeUInt32LE(e.size, 12)
  }
  return b
}

/** 4.3.12 central directory file header, with the zip64 extra field (4.5.3) holding what overflows, in its fixed order. */
export function centralHeader(plan: ZipPlan, e: PlannedEntry, crc: number): Buffer {
  const extra = centralExtraLen(e)
  const b = Buffer.alloc(CENTRAL_LEN + e.nameLength + extra)
  b.writeUInt32LE(SIG_CENTRAL, 0)
  b.writeUInt16LE(MADE_BY, 4)
  b.writeUInt16LE(e.zip64Size || e.zip64Offset ? VERSION_ZIP64 : VERSION_PLAIN, 6)
  b.writeUInt16LE(FLAGS, 8)
  // method 0 (stored) at 10
  b.writeUInt16LE(plan.dosTime, 12)
  b.writeUInt16LE(plan.dosDate, 14)
  b.writeUInt32LE(crc, 16)
  b.writeUInt32LE(e.zip64Size ? MAX32 : e.size, 20)
  b.writeUInt32LE(e.zip64Size ? MAX32 : e.size, 24)
  b.writeUInt16LE(e.nameLength, 28)
  b.writeUInt16LE(extra, 30)
  // comment length, disk number start, internal attributes: 0 (32, 34, 36)
  b.writeUInt32LE(EXTERNAL_ATTRS, 38)
  b.writeUInt32LE(e.zip64Offset ? MAX32 : e.offset, 42)
  writeName(b, e, CENTRAL_LEN)
  if (extra > 0) {
    let x = CENTRAL_LEN + e.nameLength
    b.writeUInt16LE(ZIP64_EXTRA_TAG, x)
    b.writeUInt16LE(extra - 4, x + 2)
    x += 4
    if (e.zip64Size) {
      b.writeBigUInt64LE(BigInt(e.size), x)
      b.writeBigUInt64LE(BigInt(e.size), x + 8)
      x += 16
    }
    if (e.zip64Offset) b.writeBigUInt64LE(BigInt(e.offset), x)
  }
  return b
}

/**
 * What follows the central directory: the zip64 end of central directory
 * record and locator when needed (4.3.14, 4.3.15), then the end of central
 * directory record (4.3.16), whose overflowing fields say 0xFFFF(FFFF).
 */
export function endRecords(plan: ZipPlan): Buffer {
  const count = plan.entries.length
  const zip64Len = plan.zip64End ? ZIP64_END_LEN + ZIP64_LOCATOR_LEN : 0
  const b = Buffer.alloc(zip64Len + END_LEN)
  if (plan.zip64End) {
    const endAt = plan.centralOffset + plan.centralSize
    b.writeUInt32LE(SIG_ZIP64_END, 0)
    b.writeBigUInt64LE(BigInt(ZIP64_END_LEN - 12), 4) // the size of the rest of the record
    b.writeUInt16LE(MADE_BY, 12)
    b.writeUInt16LE(VERSION_ZIP64, 14)
    // this disk and the central directory's disk: 0 (16, 20)
    b.writeBigUInt64LE(BigInt(count), 24)
    b.writeBigUInt64LE(BigInt(count), 32)
    b.writeBigUInt64LE(BigInt(plan.centralSize), 40)
    b.writeBigUInt64LE(BigInt(plan.centralOffset), 48)
    b.writeUInt32LE(SIG_ZIP64_LOCATOR, 56)
    // the zip64 end record's disk: 0 (60)
    b.writeBigUInt64LE(BigInt(endAt), 64)
    b.writeUInt32LE(1, 72) // total number of disks
  }
  const x = zip64Len
  b.writeUInt32LE(SIG_END, x)
  // this disk and the central directory's disk: 0 (x + 4, x + 6)
  b.writeUInt16LE(Math.min(count, MAX16), x + 8)
  b.writeUInt16LE(Math.min(count, MAX16), x + 10)
  b.writeUInt32LE(Math.min(plan.centralSize, MAX32), x + 12)
  b.writeUInt32LE(Math.min(plan.centralOffset, MAX32), x + 16)
  // comment length: 0 (x + 20)
  return b
}
