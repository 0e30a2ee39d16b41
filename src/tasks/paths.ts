import { rm } from 'node:fs/promises'
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
