// Streams a planned zip (plan.ts, format.ts): each entry's local header, its
// bytes as the source reads them (CRC-32 computed on the way), its data
// descriptor; then the central directory and the end records. Linear in the
// entries, and it gives the event loop a turn whenever TURN_MS of work went by
// (turns.ts): a source may answer without ever reaching the loop (small files
// are read on it), and a socket may take every batch at once.
import { crc32 } from 'node:zlib'
import {
  centralHeaderLength,
  dataDescriptorLength,
  endRecords,
  localHeaderLength,
  writeCentralHeader,
  writeDataDescriptor,
  writeLocalHeader,
  type ZipPlan,
} from './format.js'
import { Turns } from './turns.js'

/**
 * The bytes of one entry, opened: read() until it answers null, then close()
 * (also called when the zip stops half-way). A method rather than an async
 * iterator: at 10,000 small entries, generator objects and their promises
 * were a third of the zip's CPU.
 */
export interface EntryReader {
  read(): Promise<Uint8Array | null>
  close(): Promise<void>
}

/**
 * Where entries' bytes come from. open() runs before the entry's header is
 * written, so a source that cannot open an entry stops the zip before any
 * byte of that entry.
 */
export interface EntrySource {
  open(name: string, size: number, index: number): Promise<EntryReader>
  /**
   * Optional, for an entry under ALONE_BYTES: its bytes written into `target`
   * at `at` at once, without a promise, and true; or false, having written
   * nothing, and the writer opens it. `target` has room for one byte past the
   * entry, for the source to prove the file ends there. Throws as open()
   * would.
   */
  readNow?(name: string, size: number, index: number, target: Buffer, at: number): boolean
}

/** A bug guard: a source handed more or fewer bytes than the plan says. */
export class ZipSizeError extends Error {
  readonly code = 'zip_size_mismatch'
}

/** Headers and small chunks are gathered into batches of this size (docs/decisions/0011-zip-event-loop.md). */
const BATCH_BYTES = 64 * 1024
/** A chunk this large goes out on its own rather than copied into a batch. */
const ALONE_BYTES = 16 * 1024
const EMPTY = Buffer.alloc(0)

/**
 * The zip's bytes as they are written: records go straight into one
 * zero-filled batch buffer, and a full batch is handed out whole, so an entry
 * costs no Buffer of its own.
 */
class Batch {
  /** bytes of the zip so far, handed out or in the batch */
  written = 0
  buf: Buffer = EMPTY
  at = 0

  /** Makes room for `n` more bytes at `at`; returns the full batch to send first, or null. */
  room(n: number): Buffer | null {
    if (this.at + n <= this.buf.length) return null
    const full = this.take()
    this.buf = Buffer.alloc(Math.max(BATCH_BYTES, n))
    return full
  }

  /** The batch now ends at `end` (after a record was written at `at`). */
  advance(end: number): void {
    this.written += end - this.at
    this.at = end
  }

  /** What is gathered, or null when nothing is; the next bytes start a new batch. */
  take(): Buffer | null {
    if (this.at === 0) return null
    const batch = this.buf.subarray(0, this.at)
    this.buf = EMPTY
    this.at = 0
    return batch
  }
}

/**
 * The zip's bytes, in chunks. The total is exactly plan.size: the writer
 * counts what it yields and throws rather than end a zip of another length.
 */
export async function* zipChunks(plan: ZipPlan, source: EntrySource, turns = new Turns()): AsyncGenerator<Buffer, void, undefined> {
  const count = plan.names.count
  const crcs = new Uint32Array(count)
  const out = new Batch()
  let full: Buffer | null

  for (let i = 0; i < count; i++) {
    if (turns.due()) await turns.take()
    // A string only while this entry is written (names.ts).
    const name = plan.names.name(i)
    const size = plan.sizes[i]!
    if (out.written !== plan.offsets[i]) throw new ZipSizeError(`entry ${i} would start at ${out.written}, planned at ${plan.offsets[i]}`)
    if (size < ALONE_BYTES && source.readNow) {
      // Straight into the batch, after the room for its header: no Buffer, promise or reader for the entry.
      const headerLength = localHeaderLength(plan, i)
      // The descriptor's room (12 bytes or more) is where the source may read the byte past the end.
      if ((full = out.room(headerLength + size + dataDescriptorLength(plan, i)))) yield full
      const dataAt = out.at + headerLength
      if (source.readNow(name, size, i, out.buf, dataAt)) {
        out.advance(writeLocalHeader(plan, i, out.buf, out.at))
        const crc = (crcs[i] = crc32(out.buf.subarray(dataAt, dataAt + size)))
        out.advance(dataAt + size)
        out.advance(writeDataDescriptor(plan, i, crc, out.buf, out.at))
        continue
      }
    }
    const reader = await source.open(name, size, i)
    try {
      if ((full = out.room(localHeaderLength(plan, i)))) yield full
      out.advance(writeLocalHeader(plan, i, out.buf, out.at))
      let crc = 0
      let bytes = 0
      for (let chunk; (chunk = await reader.read()) !== null; ) {
        bytes += chunk.length
        if (bytes > size) throw new ZipSizeError(`entry ${name}: more than the planned ${size} bytes`)
        crc = crc32(chunk, crc)
        if (chunk.length >= ALONE_BYTES) {
          if ((full = out.take())) yield full
          out.written += chunk.length
          yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length)
        } else {
          if ((full = out.room(chunk.length))) yield full
          out.buf.set(chunk, out.at)
          out.advance(out.at + chunk.length)
        }
      }
      if (bytes !== size) throw new ZipSizeError(`entry ${name}: ${bytes} bytes, planned ${size}`)
      crcs[i] = crc
      if ((full = out.room(dataDescriptorLength(plan, i)))) yield full
      out.advance(writeDataDescriptor(plan, i, crc, out.buf, out.at))
    } finally {
      await reader.close()
    }
  }

  // The central directory, one header per entry, sent in batches (4.3.6: after the last entry).
  for (let i = 0; i < count; i++) {
    if ((full = out.room(centralHeaderLength(plan, i)))) yield full
    if (i % 256 === 0 && turns.due()) await turns.take()
    out.advance(writeCentralHeader(plan, i, crcs[i]!, out.buf, out.at))
  }
  const end = endRecords(plan)
  if ((full = out.room(end.length))) yield full
  out.buf.set(end, out.at)
  out.advance(out.at + end.length)
  // Checked before the last batch goes out: a zip of another length must not look complete.
  if (out.written !== plan.size) throw new ZipSizeError(`a zip of ${out.written} bytes, planned ${plan.size}`)
  const last = out.take()
  if (last) yield last
}

export type { ZipPlan }
