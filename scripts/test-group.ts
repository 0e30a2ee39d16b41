// One process of `npm run test:fast`: runs the test files it is given in this
// process, one after another. Starting node and tsx for each file cost more
// than most fast tests take; scripts/test.ts runs a few groups side by side.
import { after } from 'node:test'
import { pathToFileURL } from 'node:url'

for (const file of process.argv.slice(2)) await import(pathToFileURL(file).href)

// Work a test left in flight (a keep-alive socket, a throttled download) must
// not keep the group, and the run, waiting: a group still alive 5 s after its
// last test says so and ends. The node:test summary, written at a natural
// exit, is then missing: scripts/test.ts judges the group by its "not ok" lines.
// Registered after the files' own tests, so that it runs after all of them.
after(() => {
  setTimeout(() => {
    process.stdout.write('# group ended after its last test\n')
    process.exit(0)
  }, 5000).unref()
})

