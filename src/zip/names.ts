// A zip's entry names as UTF-8 bytes in one buffer, with where each one
// ends. The names live as long as the zip: as 10,000 strings they were what
// the scavenges during a large zip copied and promoted, which held the event
// loop (docs/decisions/0011-zip-event-loop.md). Here they are two off-heap
// buffers; a name becomes a string only while its entry is written.

/** UTF-8 takes at most 3 bytes per UTF-16 code unit (a surrogate pair: 4 bytes for 2 units). */
const MAX_BYTES_PER_UNIT = 3

export class ZipNames {
  private bytes: Buffer
  private ends: Uint32Array
  private used = 0
  /** how many names */
  count = 0

  constructor(expected = 64) {
    this.bytes = Buffer.allocUnsafe(Math.max(expected, 1) * 16)
    this.ends = new Uint32Array(Math.max(expected, 1))
  }

  static of(names: Iterable<string>): ZipNames {
    const table = new ZipNames()
    for (const name of names) table.add(name)
    return table
  }

  add(name: string): void {
    this.reserve(this.used + name.length * MAX_BYTES_PER_UNIT, this.count + 1)
    this.used += this.bytes.write(name, this.used, 'utf8')
    this.ends[this.count++] = this.used
  }

  /** These names after `first`, in a table of their own. */
  withFirst(first: string): ZipNames {
    const table = new ZipNames(this.count + 1)
    table.add(first)
    const shift = table.used
    table.reserve(shift + this.used, this.count + 1)
    this.bytes.copy(table.bytes, shift, 0, this.used)
    for (let i = 0; i < this.count; i++) table.ends[i + 1] = this.ends[i]! + shift
    table.used = shift + this.used
    table.count = this.count + 1
    return table
  }

  /** Room for `bytes` bytes and `names` names in all. */
  private reserve(bytes: number, names: number): void {
    if (bytes > this.bytes.length) {
      const bigger = Buffer.allocUnsafe(Math.max(bytes, 2 * this.bytes.length))
      this.bytes.copy(bigger, 0, 0, this.used)
      this.bytes = bigger
    }
    if (names > this.ends.length) {
      const bigger = new Uint32Array(Math.max(names, 2 * this.ends.length))
      bigger.set(this.ends)
      this.ends = bigger
    }
  }

  private start(i: number): number {
    return i === 0 ? 0 : this.ends[i - 1]!
  }

  /** Name i's length in UTF-8. */
  byteLength(i: number): number {
    return this.ends[i]! - this.start(i)
  }

  /** Name i as a string. */
  name(i: number): string {
    return this.bytes.toString('utf8', this.start(i), this.ends[i])
  }

  /** Copies name i's bytes into `target` at `at`; returns where they end there. */
  copy(i: number, target: Buffer, at: number): number {
    const start = this.start(i)
    const end = this.ends[i]!
    // Byte by byte for a short name: cheaper than a call into Buffer.copy.
    if (end - start > 32) return at + this.bytes.copy(target, at, start, end)
    for (let j = start; j < end; j++) target[at++] = this.bytes[j]!
    return at
  }

  *[Symbol.iterator](): IterableIterator<string> {
    for (let i = 0; i < this.count; i++) yield this.name(i)
  }
}
