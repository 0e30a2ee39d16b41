// One vocabulary (src/vocabulary.ts): what derives from it stays whole.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ReplyError } from 'ioredis'
import { isRedisUnavailable, replyCode } from '../src/redis/errors.js'
import { describeFileError, FILE_ERROR_TEXT } from '../src/tasks/file-errors.js'
import { FileErrorCodeSchema, FileStateSchema, TaskStateSchema } from '../src/tasks/schemas.js'
import { FILE_ERROR_CODES, FILE_STATES, FINAL_FILE_STATES, isFinalFileState, isFinalTaskState, TASK_STATES } from '../src/vocabulary.js'

describe('vocabulary', () => {
  it('is what the API schemas enumerate', () => {
    assert.deepEqual(TaskStateSchema.enum, [...TASK_STATES])
    assert.deepEqual(FileStateSchema.enum, [...FILE_STATES])
    assert.deepEqual(FileErrorCodeSchema.enum, [...FILE_ERROR_CODES])
  })

  it('has words for every file error code, and shows an unknown one as itself', () => {
    assert.deepEqual(Object.keys(FILE_ERROR_TEXT).sort(), [...FILE_ERROR_CODES].sort())
    assert.equal(describeFileError('http_error', 404), 'The server answered 404 (not found)')
    assert.equal(describeFileError('http_error', 599), 'The server answered 599')
    assert.equal(describeFileError('something_new'), 'Failed (something_new)')
    assert.equal(describeFileError(null), 'Failed, for no recorded reason')
  })

  it('tells final states', () => {
    assert.deepEqual(TASK_STATES.filter(isFinalTaskState), ['completed', 'partial', 'failed', 'cancelled'])
    assert.deepEqual(FILE_STATES.filter(isFinalFileState), [...FINAL_FILE_STATES])
    assert.equal(isFinalFileState(undefined), false)
    assert.equal(isFinalTaskState('downloading'), false)
  })
})

describe('Redis unavailable', () => {
  it('is told by error codes, not by what a message happens to say', () => {
    const errno = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:6379`), { code })
    assert.equal(isRedisUnavailable(errno('ECONNREFUSED')), true)
    assert.equal(isRedisUnavailable(errno('ECONNRESET')), true)
    assert.equal(isRedisUnavailable(new ReplyError('READONLY You can\'t write against a read only replica.')), true)
    assert.equal(isRedisUnavailable(new ReplyError('CLUSTERDOWN The cluster is down')), true)
    assert.equal(isRedisUnavailable(Object.assign(new Error('Reached the max retries per request limit'), { name: 'MaxRetriesPerRequestError' })), true)
    assert.equal(isRedisUnavailable(new Error('Connection is closed.')), true)
    assert.equal(isRedisUnavailable(new ReplyError('ERR Error running script: ECONNRESET in a string')), false)
    assert.equal(isRedisUnavailable(new Error('task t1: ECONNRESET mentioned in passing')), false)
    assert.equal(replyCode(new ReplyError('NOSCRIPT No matching script')), 'NOSCRIPT')
    assert.equal(replyCode(new Error('NOSCRIPT but not a reply')), null)
  })
})
