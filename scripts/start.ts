// `npm start`: batchdl run as production runs its workers, with the node
// flags and thread pool of the worker service in docker-compose.yml, the one
// place that defines them (the bench reads them from there too). A variable
// set in the shell wins over the file's.
import { spawn } from 'node:child_process'
import { workerRuntime } from './worker-runtime.js'

const { nodeArgs, env } = workerRuntime()
const child = spawn(process.execPath, [...nodeArgs, 'dist/src/main.js', ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...env, ...process.env },
})
// Ctrl-C reaches the whole process group, the service included: passing it on
// as well would be a second signal, which makes the service exit at once.
process.on('SIGINT', () => {})
process.on('SIGTERM', () => child.kill('SIGTERM'))
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
