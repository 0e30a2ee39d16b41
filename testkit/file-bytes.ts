// The bytes of the test origin's files: a pure function of name and size, so
// that a test can tell what a downloaded file must hold without keeping it.
import { createHash } from 'node:crypto'

const BLOCK = 64 * 1024
const blocks = new Map<string, Buffer>()

function blockFor(name: string): Buffer {
  let block = blocks.get(name)
  if (!block) {
    // One call for the whole block: a new name costs 0.2 ms, not 2,048 hashes.
    block = createHash('shake256', { outputLength: BLOCK }).update(name).digest()
    blocks.set(name, block)
  }
  return block
}

/** The bytes of file `name` with `size` bytes, from `start` to `end` (exclusive). */
export function fileBytes(name: string, size: number, start = 0, end = size): Buffer {
  const block = blockFor(name)
  const out = Buffer.allocUnsafe(end - start)
  for (let i = start; i < end; ) {
    const offset = i % BLOCK
    const n = Math.min(BLOCK - offset, end - i)
    block.copy(out, i - start, offset, offset + n)
    // Mix the block number into each block's first byte, so that bytes
    // written at the wrong offset show.
    if (offset === 0) out[i - start] = out[i - start]! ^ (Math.floor(i / BLOCK) & 0xff)
    i += n
  }
  return out
}

export const sha256Hex = (buf: Buffer) => createHash('sha256').update(buf).digest('hex')
