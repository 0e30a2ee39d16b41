// docker-compose.yml is not run here (no Docker engine), so its parts are
// checked one by one: it parses, each batchdl service's environment is a
// valid configuration, and the worker's node flags are ones Node accepts.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, it } from 'node:test'
import { ConfigSchema, loadConfig } from '../src/config.js'
import { webRootFor } from '../src/http/static-assets.js'
import { readCompose, RUNTIME_VARIABLES, workerRuntime } from '../scripts/worker-runtime.js'

const compose = readCompose()
const ours = Object.entries(compose.services).filter(([, s]) => s.build === '.')

describe('docker-compose.yml', () => {
  it('runs the API and the worker from this image', () => {
    assert.deepEqual(ours.map(([name, s]) => [name, s.environment?.ROLE]), [
      ['api', 'api'],
      ['worker', 'worker'],
      ['api-sentinel', 'api'],
      ['worker-sentinel', 'worker'],
    ])
  })

  it('lets a Prometheus in another container reach every worker\'s metrics', () => {
    for (const [name, service] of ours.filter(([, s]) => s.environment?.ROLE === 'worker')) {
      assert.equal(service.environment?.HOST, '0.0.0.0', name)
    }
    assert.deepEqual(compose.services['worker-sentinel']?.command, compose.services.worker?.command)
  })

  it('gives each service a configuration that loads', () => {
    for (const [name, service] of ours) {
      const env = service.environment ?? {}
      const runtime: readonly string[] = RUNTIME_VARIABLES
      const unknown = Object.keys(env).filter((k) => !(k in ConfigSchema.properties) && !runtime.includes(k))
      assert.deepEqual(unknown, [], `${name}: variables neither batchdl nor Node reads`)
      // Compose fills ${VAR:?message} from the shell; any value stands in for it here.
      const filled = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v).replace(/\$\{[^}]*\}/g, 'secret')]))
      assert.equal(loadConfig(filled).ROLE, env.ROLE)
    }
  })

  it('starts the worker with node flags that Node accepts', async () => {
    const command = compose.services.worker?.command ?? []
    assert.equal(command[0], 'node')
    assert.equal(command.at(-1), 'dist/src/main.js')
    const flags = command.slice(1, -1)
    assert.ok(flags.length > 0)
    const { stdout } = await promisify(execFile)(process.execPath, [...flags, '-p', '1 + 1'])
    assert.equal(stdout.trim(), '2')
  })

  it('gives the worker a thread pool size libuv accepts (1 to 1024), which the bench uses too', () => {
    const size = compose.services.worker?.environment?.UV_THREADPOOL_SIZE
    assert.match(String(size), /^\d+$/)
    assert.ok(Number(size) >= 1 && Number(size) <= 1024)
    const bench = workerRuntime()
    assert.deepEqual(bench, { nodeArgs: compose.services.worker!.command!.slice(1, -1), env: { UV_THREADPOOL_SIZE: String(size) } })
  })

  it('is where npm start takes its node flags and thread pool from', async () => {
    const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { scripts: Record<string, string> }
    assert.match(pkg.scripts.start!, /scripts\/start\.ts$/)
    assert.match(await readFile('scripts/start.ts', 'utf8'), /workerRuntime\(\)/)
  })
})

describe('Dockerfile', () => {
  it('copies web/ to where the built program looks for it', async () => {
    const dockerfile = await readFile('Dockerfile', 'utf8')
    const run = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '))
    assert.match(run, /^WORKDIR \/app$/m)
    assert.match(run, /^COPY --from=build \/app\/dist \.\/dist$/m)
    assert.match(run, /^COPY web \.\/web$/m)
    assert.equal(webRootFor('file:///app/dist/src/http/static-assets.js'), '/app/web/')
    assert.equal(webRootFor(new URL('../src/http/static-assets.ts', import.meta.url).href), fileURLToPath(new URL('../web/', import.meta.url)))
  })
})
