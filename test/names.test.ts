import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { assignSavedNames, fileNameProblem, urlExtension } from '../src/tasks/names.js'

describe('file names', () => {
  it('refuses every unsafe fn', () => {
    const unsafe = ['', '.', '..', 'a/b', '../x', 'a\\b', 'nul\u0000byte', 'tab\tname', 'line\nbreak', 'del\u007f', 'c1\u0085', 'é'.repeat(128)]
    for (const fn of unsafe) assert.notEqual(fileNameProblem(fn), null, JSON.stringify(fn))
  })

  it('refuses invisible formatting characters, which make a name read as another', () => {
    const spoofs = ['a\u202egpj.exe', 'zero\u200bwidth.jpg', '\ufeffbom.png', 'join\u200d.jpg', 'iso\u2066late.jpg', 'line\u2028sep.jpg']
    for (const fn of spoofs) assert.match(fileNameProblem(fn) ?? '', /invisible formatting characters/, JSON.stringify(fn))
  })

  it('accepts ordinary names, dots and Unicode within 255 bytes', () => {
    for (const fn of ['cat.jpg', '.hidden', '..cat', 'a..b', '猫.png', 'x'.repeat(255), '空 格 (1).jpeg']) {
      assert.equal(fileNameProblem(fn), null, fn)
    }
  })

  it('takes the extension from the URL path, never the query string', () => {
    assert.equal(urlExtension('https://oss.example.com/a/cat.jpg?Expires=1&Signature=abc.def'), 'jpg')
    assert.equal(urlExtension('https://oss.example.com/a/cat?x=y.png'), null)
    assert.equal(urlExtension('https://oss.example.com/a.b/cat'), null)
    assert.equal(urlExtension('https://h/p/archive.tar.gz#frag.exe'), 'gz')
    assert.equal(urlExtension('https://h/p/weird.j%2Fpg'), null)
  })

  it('appends the URL extension only when fn has no dot', () => {
    const names = assignSavedNames([
      { fn: 'cat', url: 'https://h/a/cat.jpg?Signature=x.png' },
      { fn: 'dog.png', url: 'https://h/a/dog.jpg' },
      { fn: 'noext', url: 'https://h/a/blob?x=1' },
    ])
    assert.deepEqual(names, ['cat.jpg', 'dog.png', 'noext'])
  })

  it('renames collisions case-insensitively after NFC, in submission order', () => {
    const names = assignSavedNames([
      { fn: 'Cat.jpg', url: 'https://h/1' },
      { fn: 'cat.JPG', url: 'https://h/2' },
      { fn: 'cat', url: 'https://h/x/cat.jpg' },
      { fn: 'cafe\u0301.png', url: 'https://h/3' },
      { fn: 'caf\u00e9.png', url: 'https://h/4' },
      { fn: 'Cat (2).jpg', url: 'https://h/5' },
    ])
    assert.deepEqual(names, ['Cat.jpg', 'cat (2).JPG', 'cat (3).jpg', 'cafe\u0301.png', 'caf\u00e9 (2).png', 'Cat (2) (2).jpg'])
  })

  it('keeps a renamed collision within 255 bytes', () => {
    const long = `${'a'.repeat(251)}.jpg`
    const names = assignSavedNames([{ fn: long, url: 'https://h/1' }, { fn: long, url: 'https://h/2' }])
    assert.equal(names[0], long)
    assert.ok(names[1]!.endsWith(' (2).jpg'))
    assert.equal(Buffer.byteLength(names[1]!), 255)
  })

  it('shortens the stem, never drops it, when a suffix meets a long extension', () => {
    const fn = `a.${'x'.repeat(253)}`
    const names = assignSavedNames([{ fn, url: 'https://h/1' }, { fn, url: 'https://h/2' }])
    assert.equal(names[0], fn)
    assert.equal(Buffer.byteLength(names[1]!), 255)
    assert.ok(names[1]!.startsWith('a.xxx') && names[1]!.endsWith(' (2)'), names[1])
  })

  it('shortens the stem to fit an added extension', () => {
    const [name] = assignSavedNames([{ fn: 'é'.repeat(127), url: 'https://h/a/cat.jpeg' }])
    assert.equal(name, `${'é'.repeat(125)}.jpeg`)
    assert.ok(Buffer.byteLength(name!) <= 255)
  })

  it('names 10,000 equal long names without trying every number for each', () => {
    const fn = `${'n'.repeat(240)}.jpg`
    const files = Array.from({ length: 10_000 }, (_, i) => ({ fn, url: `https://h/${i}` }))
    const names = assignSavedNames(files)
    assert.equal(new Set(names.map((n) => n.toLowerCase())).size, 10_000)
    assert.ok(names[9_999]!.endsWith(' (10000).jpg'))
    assert.ok(names.every((n) => Buffer.byteLength(n) <= 255))
  })
})
