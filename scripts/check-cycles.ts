// Fails when modules of src/ and routes/ import each other, directly or round
// a loop, type-only imports included: a cycle means two modules are one
// module in two files. `npm test` runs it.
import { readFileSync } from 'node:fs'
import { dirname, relative, resolve } from 'node:path'
import ts from 'typescript'

const root = resolve(import.meta.dirname, '..')
const config = ts.getParsedCommandLineOfConfigFile(resolve(root, 'tsconfig.json'), {}, {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (d) => {
    throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'))
  },
})!
const files = config.fileNames.filter((f) => /\/(src|routes)\//.test(f))
const graph = new Map<string, string[]>()
for (const file of files) {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest)
  const targets: string[] = []
  source.forEachChild((node) => {
    const spec = (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier
    if (spec && ts.isStringLiteral(spec) && spec.text.startsWith('.')) {
      targets.push(resolve(dirname(file), spec.text.replace(/\.js$/, '.ts')))
    }
  })
  graph.set(file, targets)
}

// Depth-first search; a module met again while still on the path closes a cycle.
const cycles: string[] = []
const state = new Map<string, 'open' | 'done'>()
const path: string[] = []
function visit(file: string): void {
  state.set(file, 'open')
  path.push(file)
  for (const next of graph.get(file) ?? []) {
    if (state.get(next) === 'open') cycles.push([...path.slice(path.indexOf(next)), next].map((f) => relative(root, f)).join(' -> '))
    else if (!state.has(next) && graph.has(next)) visit(next)
  }
  path.pop()
  state.set(file, 'done')
}
for (const file of graph.keys()) if (!state.has(file)) visit(file)

if (cycles.length > 0) {
  console.error(`Import cycles (${cycles.length}):\n${cycles.map((c) => `  ${c}`).join('\n')}`)
  process.exit(1)
}
console.log(`No import cycles among ${graph.size} modules.`)
