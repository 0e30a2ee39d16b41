// Writes openapi.yaml from the routes' schemas: `npm run openapi`.
import { writeFile } from 'node:fs/promises'
import { buildApp } from '../src/app.js'
import { openBackend } from '../src/backend.js'
import { loadConfig } from '../src/config.js'
import { createLogger } from '../src/logger.js'

const config = loadConfig({ LOG_LEVEL: 'silent' })
const backend = openBackend(config, 'api', createLogger(config.LOG_LEVEL))
const app = await buildApp(config, { backend })
await app.ready()
await writeFile(new URL('../openapi.yaml', import.meta.url), app.swagger({ yaml: true }))
await app.close()
await backend.close()
