// A task submitted to a suite's in-process service, and what came of it: its
// reply list, its status, the files in its folder.
import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { readReplies, type ServiceFixture } from '../../testkit/service.js'

export interface FileIn {
  fn: string
  url: string
  sha256?: string
}

export function tasksOf(service: ServiceFixture) {
  return {
    /** Submits the task and waits for its end: the reply list, and GET /tasks/:id then. */
    async run(taskId: string, files: FileIn[]) {
      const { svc, env } = service
      const res = await svc.app.inject({ method: 'POST', url: '/tasks', payload: { task_id: taskId, task_info: files } })
      assert.equal(res.statusCode, 202, res.body)
      const replies = await readReplies(`${env.LEGACY_REPLY_PREFIX}_${taskId}`)
      const status = (await svc.app.inject({ method: 'GET', url: `/tasks/${taskId}` })).json()
      return { replies, status }
    },
    onDisk: (taskId: string) => readdir(join(service.env.DOWNLOAD_DIR!, taskId)).then((l) => l.sort()),
    readSaved: (taskId: string, name: string) => readFile(join(service.env.DOWNLOAD_DIR!, taskId, name)),
  }
}
