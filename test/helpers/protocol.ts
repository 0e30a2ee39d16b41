import assert from 'node:assert/strict'
import { createServer, type AddressInfo } from 'node:net'

/** The legacy reply-list protocol: start, then each fn exactly once (any order), then end. */
export function assertProtocol(replies: string[], fns: string[]): void {
  assert.equal(replies[0], 'start')
  assert.equal(replies.at(-1), 'end')
  assert.deepEqual(replies.slice(1, -1).sort(), [...fns].sort(), 'each fn exactly once')
}

/** A loopback port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}
