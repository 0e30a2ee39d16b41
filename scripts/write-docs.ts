// Writes the documentation pages generated from code: `npm run docs`.
import { writeFile } from 'node:fs/promises'
import { renderConfigDoc } from '../src/config-doc.js'

await writeFile(new URL('../docs/configuration.md', import.meta.url), renderConfigDoc())
