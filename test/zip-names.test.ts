// The zip's name table (src/zip/names.ts): names of any script and length
// come back as they went in, as strings and as UTF-8 bytes, across growth.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ZipNames } from '../src/zip/names.js'

const NAMES = ['a.txt', 'photo-ü.jpg', '日本語のファイル.png', 'emoji-😀.bin', 'x'.repeat(300), '\ud800lone.txt']

describe('zip names', () => {
  it('gives back every name, its UTF-8 length and bytes, after growing from a small table', () => {
    const table = new ZipNames(1)
    const many = Array.from({ length: 3000 }, (_, i) => NAMES[i % NAMES.length]! + i)
    for (const name of many) table.add(name)
    assert.equal(table.count, many.length)
    const target = Buffer.alloc(400)
    many.forEach((name, i) => {
      const utf8 = Buffer.from(name, 'utf8')
      assert.equal(table.name(i), utf8.toString('utf8'))
      assert.equal(table.byteLength(i), utf8.length)
      const end = table.copy(i, target, 7)
      assert.equal(end, 7 + utf8.length)
      assert.deepEqual(target.subarray(7, end), utf8)
    })
    assert.deepEqual([...table], many.map((n) => Buffer.from(n, 'utf8').toString('utf8')))
  })

  it('withFirst: a new table with one name before the others, the original unchanged', () => {
    const table = ZipNames.of(NAMES)
    const withReport = table.withFirst('REPORT (2).txt')
    assert.deepEqual([...withReport], ['REPORT (2).txt', ...table])
    assert.equal(withReport.byteLength(0), 'REPORT (2).txt'.length)
    assert.equal(table.count, NAMES.length)
    assert.deepEqual([...ZipNames.of([]).withFirst('REPORT.txt')], ['REPORT.txt'])
  })
})
