// Every installed package supports the Node that package.json promises:
// `npm ci` on the lowest promised version installs without EBADENGINE.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import semver from 'semver'

interface Lock {
  packages: Record<string, { engines?: { node?: string } | string[]; dev?: boolean }>
}

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { engines: { node: string } }
const lock = JSON.parse(readFileSync(new URL('../package-lock.json', import.meta.url), 'utf8')) as Lock

describe('engines', () => {
  it('asks no Node newer than the one the project promises, in any locked package', () => {
    const promised = semver.minVersion(pkg.engines.node)!
    const refusing = Object.entries(lock.packages)
      .map(([path, p]) => [path, Array.isArray(p.engines) ? undefined : p.engines?.node] as const)
      .filter(([, range]) => range !== undefined && !semver.satisfies(promised, range))
      .map(([path, range]) => `${path} wants node ${range}`)
    assert.deepEqual(refusing, [], `package.json promises node ${pkg.engines.node}`)
  })
})
