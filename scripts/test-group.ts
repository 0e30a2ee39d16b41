// One process of `npm run test:fast`: runs the test files it is given in this
// process, one after another. Starting node and tsx for each file cost more
// than most fast tests take; scripts/test.ts runs a few groups side by side.
//
// It runs with --test-force-exit, so that work a test left in flight (a
// keep-alive socket, a throttled download) does not keep it alive once its
// last test ended. That exit comes once every test known has ended: no test
// starts before every file is imported, or a later file's tests would be
// left out of a group that ended early.
import { before } from 'node:test'
import { pathToFileURL } from 'node:url'

let imported!: () => void
before(() => new Promise<void>((resolve) => (imported = resolve)))
for (const file of process.argv.slice(2)) await import(pathToFileURL(file).href)
imported()
