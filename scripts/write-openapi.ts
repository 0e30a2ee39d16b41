// Writes openapi.yaml from the routes' schemas: `npm run openapi`.
import { writeFile } from 'node:fs/promises'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'

const app = await buildApp(loadConfig({ LOG_LEVEL: 'silent' }))
await app.ready()
await writeFile(new URL('../openapi.yaml', import.meta.url), app.swagger({ yaml: true }))
await app.close()
