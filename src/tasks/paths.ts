import { constants } from 'node:fs'
import { access, mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'

/** DOWNLOAD_DIR/<task_id>: task ids are [A-Za-z0-9_-], so this never leaves DOWNLOAD_DIR. */
export const taskDir = (downloadDir: string, taskId: string) => join(downloadDir, taskId)

/**
 * Temporary files live beside the task folders, not in them, so that a task
 * folder only ever holds finished files; no task id contains a dot.
 */
export const partialDir = (downloadDir: string, taskId: string) => join(downloadDir, '.partial', taskId)

/** Removes everything a task has on disk. */
export async function removeTaskFiles(downloadDir: string, taskId: string): Promise<void> {
  await rm(taskDir(downloadDir, taskId), { recursive: true, force: true })
  await rm(partialDir(downloadDir, taskId), { recursive: true, force: true })
}

/**
 * Why files cannot be written under DOWNLOAD_DIR, or null when they can: the
 * folder is made if missing, then must be writable (a read-only volume, a
 * path through a file or a missing mount all fail here).
 */
export async function downloadDirProblem(downloadDir: string): Promise<string | null> {
  try {
    await mkdir(downloadDir, { recursive: true })
    await access(downloadDir, constants.W_OK)
    return null
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error'
    return `DOWNLOAD_DIR ${downloadDir} cannot be written (${code})`
  }
}
