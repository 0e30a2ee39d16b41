// A node:test reporter for `npm run test:fast`: one line per top-level suite
// or test, "# time <file> <ms>", from which scripts/test.ts learns how long
// each file takes and deals the next run's files out evenly.
import { relative } from 'node:path'
import type { TestEvent } from 'node:test/reporters'

export default async function* testTimes(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue
    const { nesting, file, details } = event.data
    if (nesting === 0 && file) yield `# time ${relative(process.cwd(), file)} ${Math.round(details.duration_ms)}\n`
  }
}
