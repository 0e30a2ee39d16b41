import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { jsonArraySlices } from '../src/tasks/json-slices.js'

async function collect(json: string, size: number): Promise<unknown[][]> {
  const slices: unknown[][] = []
  for await (const slice of jsonArraySlices(Buffer.from(json), size)) slices.push(slice)
  return slices
}

describe('jsonArraySlices', () => {
  it('gives the same elements as JSON.parse, in slices of the size asked', async () => {
    const items = Array.from({ length: 25 }, (_, i) => ({
      fn: `a,b]}{["\\"${i} café 照片 🙂`,
      url: `http://h/${i}?q=[1,2]`,
      nested: { list: [i, [i, { x: '},' }]] },
      n: i,
    }))
    const json = JSON.stringify(items)
    const slices = await collect(json, 10)
    assert.deepEqual(slices.map((s) => s.length), [10, 10, 5])
    assert.deepEqual(slices.flat(), JSON.parse(json))
  })

  it('reads arrays of any shape: empty, one element, scalars, whitespace', async () => {
    assert.deepEqual(await collect('[]', 3), [])
    assert.deepEqual(await collect(' [ ] ', 3), [])
    assert.deepEqual(await collect('[{"a":1}]', 3), [[{ a: 1 }]])
    assert.deepEqual(await collect('[1, "x,y", null, true]', 2), [[1, 'x,y'], [null, true]])
    assert.deepEqual(await collect('[1,2,3]', 3), [[1, 2, 3]])
  })

  it('refuses text that is not one array', async () => {
    await assert.rejects(collect('{"a":1}', 2), SyntaxError)
    await assert.rejects(collect('[1,2', 5), SyntaxError)
    await assert.rejects(collect('[1,,2]', 5), SyntaxError)
  })

  it('lets the event loop turn between slices', async () => {
    const json = JSON.stringify(Array.from({ length: 30 }, (_, i) => i))
    // Counts turns of the loop's check phase; microtasks alone never run it.
    let turns = 0
    let running = true
    const tick = () => {
      turns++
      if (running) setImmediate(tick)
    }
    setImmediate(tick)
    const seen: number[] = []
    try {
      for await (const slice of jsonArraySlices(Buffer.from(json), 10)) {
        assert.equal(slice.length, 10)
        seen.push(turns)
      }
    } finally {
      running = false
    }
    assert.equal(seen.length, 3)
    assert.ok(seen[1]! > seen[0]! && seen[2]! > seen[1]!, `turns seen at each slice: ${seen.join(', ')}`)
  })
})
