// nginx serving a folder of static files on loopback (sendfile), for the
// bulk and big workloads.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { freePort } from '../testkit/free-port.js'

export interface Nginx {
  base: string
  stop(): Promise<void>
}

export async function startNginx(root: string, work: string): Promise<Nginx> {
  const port = await freePort()
  await mkdir(join(work, 'nginx'), { recursive: true })
  const conf = join(work, 'nginx', 'nginx.conf')
  await writeFile(
    conf,
    `daemon off;
worker_processes 1;
pid ${join(work, 'nginx', 'nginx.pid')};
error_log ${join(work, 'nginx', 'error.log')} warn;
user root;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  client_body_temp_path ${join(work, 'nginx')};
  proxy_temp_path ${join(work, 'nginx')};
  fastcgi_temp_path ${join(work, 'nginx')};
  uwsgi_temp_path ${join(work, 'nginx')};
  scgi_temp_path ${join(work, 'nginx')};
  server {
    listen 127.0.0.1:${port};
    root ${root};
  }
}
`,
  )
  const child: ChildProcess = spawn('nginx', ['-c', conf, '-e', join(work, 'nginx', 'error.log')], { stdio: 'ignore' })
  const base = `http://127.0.0.1:${port}`
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(`${base}/`)
      break
    } catch {
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  return {
    base,
    async stop() {
      const exit = once(child, 'exit')
      child.kill('SIGQUIT')
      await exit
    },
  }
}
