// The tools batchdl is measured against, and how each run is measured.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { WorkerRuntime } from '../scripts/worker-runtime.js'

export interface Measured {
  wallS: number
  cpuS: number
  peakRssMiB: number
}

export interface Job {
  urls: string[]
  names: string[]
}

/** Runs a command under GNU time: wall clock, CPU seconds, peak RSS of the process. */
async function timed(cmd: string, args: string[], cwd: string): Promise<Measured> {
  const report = join(cwd, '.time')
  const child = spawn('/usr/bin/time', ['-o', report, '-f', '%e %U %S %M', cmd, ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const [code] = (await once(child, 'exit')) as [number]
  if (code !== 0) throw new Error(`${cmd} failed (${code}): ${stderr.slice(-500)}`)
  const [wall, user, sys, rssKb] = (await readFile(report, 'utf8')).trim().split('\n').at(-1)!.split(' ').map(Number)
  return { wallS: wall!, cpuS: user! + sys!, peakRssMiB: rssKb! / 1024 }
}

export async function runCurl(job: Job, dir: string, parallel: number): Promise<Measured> {
  const config = job.urls.map((u, i) => `url = "${u}"\noutput = "${job.names[i]}"`).join('\n')
  await writeFile(join(dir, 'curl.cfg'), config)
  return timed('curl', ['--parallel', '--parallel-max', String(parallel), '--fail', '--silent', '--show-error', '--config', 'curl.cfg'], dir)
}

/** `perFile`: aria2c's options for connections per file (-x, -s, -k); one connection by default. */
export async function runAria2(job: Job, dir: string, parallel: number, perFile: string[] = ['-x', '1']): Promise<Measured> {
  const list = job.urls.map((u, i) => `${u}\n  out=${job.names[i]}`).join('\n')
  await writeFile(join(dir, 'aria2.txt'), list)
  return timed(
    'aria2c',
    ['-j', String(parallel), ...perFile, '-i', 'aria2.txt', '-d', dir, '--quiet', '--file-allocation=none', '--allow-overwrite=true', '--auto-file-renaming=false', '--console-log-level=error'],
    dir,
  )
}

/** CPU seconds a running process has used so far. */
export async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/** Resets a process's peak RSS (VmHWM) so that the next reading covers one run only. */
export async function resetPeakRss(pid: number): Promise<void> {
  await writeFile(`/proc/${pid}/clear_refs`, '5')
}

export async function peakRssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
}

/**
 * The floor for any downloader written on Node: undici alone receiving the
 * same files with the same parallelism, in a process of its own run as the
 * worker is, no Redis. With `dir`, it writes them there as the worker does
 * (see floor.ts); without, it throws the bytes away.
 */
export async function runUndiciFloor(
  job: Job,
  parallel: number,
  runtime: WorkerRuntime,
  dir?: string,
): Promise<Omit<Measured, 'peakRssMiB'>> {
  const child = spawn(process.execPath, [...runtime.nodeArgs, '--import', 'tsx', 'bench/floor.ts'], {
    env: { ...process.env, ...runtime.env },
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  child.stdin.end(JSON.stringify({ urls: job.urls, names: job.names, parallel, dir }))
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  const [code] = (await once(child, 'exit')) as [number]
  if (code !== 0) throw new Error(`the node floor failed (${code})`)
  return JSON.parse(out) as Omit<Measured, 'peakRssMiB'>
}
