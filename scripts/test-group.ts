// One process of `npm run test:fast`: runs the test files it is given in this
// process, one after another. Starting node and tsx for each file cost more
// than most fast tests take; scripts/test.ts runs a few groups side by side.
//
// It runs with --test-force-exit, so that work a test left in flight (a
// keep-alive socket, a throttled download) does not keep it alive once its
// last test ended. That exit comes once every test known has ended, so no
// test runs before every file is imported: a first test that waits for the
// imports holds the others back (top-level tests run one after another), and
// its time in the report is the imports'.
import { test } from 'node:test'
import { pathToFileURL } from 'node:url'

let imported!: () => void
void test('import the files of this group', () => new Promise<void>((resolve) => (imported = resolve)))
for (const file of process.argv.slice(2)) await import(pathToFileURL(file).href)
imported()
