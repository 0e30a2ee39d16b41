import { Queue, type ConnectionOptions } from 'bullmq'
import type { Priority } from './schemas.js'

export const TASK_QUEUE = 'tasks'

export interface TaskJob {
  taskId: string
}

/** BullMQ refuses numeric job ids, and task ids may be numeric. */
export const jobIdOf = (taskId: string) => `task-${taskId}`

/**
 * BullMQ's priority of a task's job: lower runs first, and a job without one
 * would run before every prioritized job, so each job gets one. BullMQ keeps
 * jobs of one priority in the order they were added.
 */
export const jobPriority = (p: Priority): number => ({ high: 1, normal: 2, low: 3 })[p]

/** The hash tag keeps every BullMQ key of the queue in one Redis Cluster slot. */
export const bullPrefix = (queuePrefix: string) => `{${queuePrefix}}`

/** A key in the queue's slot: what a WAIT after adding a job is sent beside. */
export const queueKey = (queue: Queue<TaskJob>) => queue.keys.meta!

/**
 * Jobs retried by BullMQ are tasks whose run threw (Redis trouble mid-task):
 * a retry resumes where the last attempt stopped.
 */
export const JOB_ATTEMPTS = 10

export function createTaskQueue(connection: ConnectionOptions, queuePrefix: string): Queue<TaskJob> {
  return new Queue<TaskJob>(TASK_QUEUE, {
    connection,
    prefix: bullPrefix(queuePrefix),
    defaultJobOptions: {
      attempts: JOB_ATTEMPTS,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: true,
      removeOnFail: { age: 7 * 24 * 3600 },
    },
  })
}
