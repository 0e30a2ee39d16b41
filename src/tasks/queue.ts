import { Queue, type ConnectionOptions } from 'bullmq'

export const TASK_QUEUE = 'tasks'

export interface TaskJob {
  taskId: string
}

/** BullMQ refuses numeric job ids, and task ids may be numeric. */
export const jobIdOf = (taskId: string) => `task-${taskId}`

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
