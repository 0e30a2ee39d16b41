// The zip format as this service writes it (PKWARE APPNOTE.TXT 6.3.x; section
// numbers below are the note's): stored entries, each followed by a data
// descriptor, so that the CRC-32 is computed while the bytes stream; UTF-8
// names; zip64 only where a field would overflow.
//
// Every size and offset follows from the entries' names and sizes alone, so
// planZip() (plan.ts) lays out the whole archive before a byte is written: the
// writer follows the plan, and Content-Length is the plan's size. The length
// functions below decide each record's shape for both, so the two cannot
// disagree. Records are written into the writer's batch buffer rather than a
// Buffer each (docs/decisions/0011-zip-event-loop.md).

import type { ZipNames } from './names.js'

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

/** The longest name a header can hold, in bytes. */
export const MAX_NAME_BYTES = MAX16

export interface ZipPlan {
  /** entry names (plain file names), in order */
  names: ZipNames
  /** each entry's size in bytes */
  sizes: Float64Array
  /** where each entry's local header starts */
  offsets: Float64Array
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
const localExtraLen = (zip64Size: boolean) => (zip64Size ? 20 : 0)
const descriptorLen = (zip64Size: boolean) => (zip64Size ? 24 : 16)
const centralExtraLen = (zip64Size: boolean, zip64Offset: boolean) =>
  zip64Size || zip64Offset ? 4 + (zip64Size ? 16 : 0) + (zip64Offset ? 8 : 0) : 0

/** A size or offset that needs 8 bytes. */
export const overflows32 = (n: number) => n >= MAX32
/** An entry's bytes in the archive before the central directory: local header, data, data descriptor. */
export const entryLength = (nameLength: number, size: number) =>
  LOCAL_LEN + nameLength + localExtraLen(overflows32(size)) + size + descriptorLen(overflows32(size))
/** An entry's central directory header. */
export const centralLength = (nameLength: number, size: number, offset: number) =>
  CENTRAL_LEN + nameLength + centralExtraLen(overflows32(size), overflows32(offset))
/** Entry count, central directory size or offset overflow: zip64 end records (4.3.14, 4.3.15). */
export const needsZip64End = (count: number, centralSize: number, centralOffset: number) =>
  count >= MAX16 || overflows32(centralSize) || overflows32(centralOffset)
/** The records after the central directory. */
export const endLength = (zip64End: boolean) => (zip64End ? ZIP64_END_LEN + ZIP64_LOCATOR_LEN : 0) + END_LEN

/** Entry i's size needs 8 bytes: zip64 extra fields in both headers, and a zip64 data descriptor. */
const zip64Size = (plan: ZipPlan, i: number) => overflows32(plan.sizes[i]!)
/** Entry i's offset needs 8 bytes: a zip64 extra field in its central header. */
const zip64Offset = (plan: ZipPlan, i: number) => overflows32(plan.offsets[i]!)

/** The lengths of entry i's records, for a writer to make room. */
export const localHeaderLength = (plan: ZipPlan, i: number) => LOCAL_LEN + plan.names.byteLength(i) + localExtraLen(zip64Size(plan, i))
export const dataDescriptorLength = (plan: ZipPlan, i: number) => descriptorLen(zip64Size(plan, i))
export const centralHeaderLength = (plan: ZipPlan, i: number) => centralLength(plan.names.byteLength(i), plan.sizes[i]!, plan.offsets[i]!)

/**
 * 4.3.7 local file header of entry i, written into `b` (zero-filled) at
 * `at`; returns where it ends. CRC-32 and sizes are zero (they follow in the
 * data descriptor, 4.4.4 bit 3); for a zip64 entry the 32-bit sizes say
 * 0xFFFFFFFF and a zip64 extra field (4.5.3) is present, which tells readers
 * that the data descriptor holds 8-byte sizes (4.3.9.2).
 */
export function writeLocalHeader(plan: ZipPlan, i: number, b: Buffer, at: number): number {
  const big = zip64Size(plan, i)
  const nameLength = plan.names.byteLength(i)
  b.writeUInt32LE(SIG_LOCAL, at)
  b.writeUInt16LE(big ? VERSION_ZIP64 : VERSION_PLAIN, at + 4)
  b.writeUInt16LE(FLAGS, at + 6)
  // method 0 (stored) at 8, CRC-32 0 at 14
  b.writeUInt16LE(plan.dosTime, at + 10)
  b.writeUInt16LE(plan.dosDate, at + 12)
  if (big) {
    b.writeUInt32LE(MAX32, at + 18)
    b.writeUInt32LE(MAX32, at + 22)
  }
  b.writeUInt16LE(nameLength, at + 26)
  b.writeUInt16LE(localExtraLen(big), at + 28)
  plan.names.copy(i, b, at + LOCAL_LEN)
  if (big) {
    const x = at + LOCAL_LEN + nameLength
    b.writeUInt16LE(ZIP64_EXTRA_TAG, x)
    b.writeUInt16LE(16, x + 2)
    // original and compressed sizes: 0 here too, the descriptor has them
  }
  return at + LOCAL_LEN + nameLength + localExtraLen(big)
}

/** 4.3.9 data descriptor of entry i, with its signature (4.3.9.3), 8-byte sizes for a zip64 entry, at `at`; returns where it ends. */
export function writeDataDescriptor(plan: ZipPlan, i: number, crc: number, b: Buffer, at: number): number {
  const size = plan.sizes[i]!
  const big = zip64Size(plan, i)
  b.writeUInt32LE(SIG_DESCRIPTOR, at)
  b.writeUInt32LE(crc, at + 4)
  if (big) {
    b.writeBigUInt64LE(BigInt(size), at + 8)
    b.writeBigUInt64LE(BigInt(size), at + 16)
  } else {
    b.writeUInt32LE(size, at + 8)
    b.writeUInt32LE(size, at + 12)
  }
  return at + descriptorLen(big)
}

/**
 * 4.3.12 central directory file header of entry i, with the zip64 extra
 * field (4.5.3) holding what overflows, in its fixed order; written into `b`
 * (zero-filled) at `at`; returns where it ends.
 */
export function writeCentralHeader(plan: ZipPlan, i: number, crc: number, b: Buffer, at: number): number {
  const size = plan.sizes[i]!
  const offset = plan.offsets[i]!
  const nameLength = plan.names.byteLength(i)
  const bigSize = zip64Size(plan, i)
  const bigOffset = zip64Offset(plan, i)
  const extra = centralExtraLen(bigSize, bigOffset)
  b.writeUInt32LE(SIG_CENTRAL, at)
  b.writeUInt16LE(MADE_BY, at + 4)
  b.writeUInt16LE(bigSize || bigOffset ? VERSION_ZIP64 : VERSION_PLAIN, at + 6)
  b.writeUInt16LE(FLAGS, at + 8)
  // method 0 (stored) at 10
  b.writeUInt16LE(plan.dosTime, at + 12)
  b.writeUInt16LE(plan.dosDate, at + 14)
  b.writeUInt32LE(crc, at + 16)
  b.writeUInt32LE(bigSize ? MAX32 : size, at + 20)
  b.writeUInt32LE(bigSize ? MAX32 : size, at + 24)
  b.writeUInt16LE(nameLength, at + 28)
  b.writeUInt16LE(extra, at + 30)
  // comment length, disk number start, internal attributes: 0 (32, 34, 36)
  b.writeUInt32LE(EXTERNAL_ATTRS, at + 38)
  b.writeUInt32LE(bigOffset ? MAX32 : offset, at + 42)
  plan.names.copy(i, b, at + CENTRAL_LEN)
  if (extra > 0) {
    let x = at + CENTRAL_LEN + nameLength
    b.writeUInt16LE(ZIP64_EXTRA_TAG, x)
    b.writeUInt16LE(extra - 4, x + 2)
    x += 4
    if (bigSize) {
      b.writeBigUInt64LE(BigInt(size), x)
      b.writeBigUInt64LE(BigInt(size), x + 8)
      x += 16
    }
    if (bigOffset) b.writeBigUInt64LE(BigInt(offset), x)
  }
  return at + CENTRAL_LEN + nameLength + extra
}

/**
 * What follows the central directory: the zip64 end of central directory
 * record and locator when needed (4.3.14, 4.3.15), then the end of central
 * directory record (4.3.16), whose overflowing fields say 0xFFFF(FFFF).
 */
export function endRecords(plan: ZipPlan): Buffer {
  const count = plan.names.count
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
