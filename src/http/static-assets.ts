// Where the operators' page (web/) is. web/ sits at the project root, beside
// src/ in the source tree and beside dist/ in the built image (the Dockerfile
// copies it to /app/web next to /app/dist); this module is the one that knows.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/**
 * web/ for a module at `moduleUrl` inside src/http/: run from the sources
 * (src/http/x.ts, through tsx) or built (dist/src/http/x.js).
 */
export function webRootFor(moduleUrl: string): string {
  const built = moduleUrl.endsWith('.js')
  return fileURLToPath(new URL(built ? '../../../web/' : '../../web/', moduleUrl))
}

/** This program's web/; throws when it is missing (an image built without it). */
export function webRoot(): string {
  const dir = webRootFor(import.meta.url)
  if (!existsSync(dir)) throw new Error(`web/ is missing beside the program: ${dir}`)
  return dir
}
