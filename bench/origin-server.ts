// Entry of the origin's process (see origin.ts): prints its address, stops when stdin closes.
import { startOrigin } from '../testkit/origin.js'

const origin = await startOrigin()
process.stdout.write(`${origin.base}\n`)
process.stdin.resume()
process.stdin.on('end', () => void origin.close())

