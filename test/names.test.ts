import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { assignSavedNames, fileNameProblem, urlExtension } from '../src/tasks/names.js'

describe('file names', () => {
  it('refuses every unsafe fn', () => {
    const unsafe = ['', '.', '..', 'a/b', '../x', 'a\\b', 'nul\u0000byte', 'tab\tname', 'line\nbreak', 'del\u007f', 'c1\u0085', 'é'.repeat(128)]
    for (const fn of unsafe) assert.notEqual(fileNameProblem(fn), null, JSON.stringify(fn))
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
})
