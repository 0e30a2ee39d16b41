// What the answer to an attempt's first request settles for the whole file:
// its status and size, and whether it has a resume record. Resuming, a whole
// file instead of the rest means a new version or a server without ranges:
// the request starts over in place, from byte 0, on one connection. A fresh
// file worth resuming gets its record before any byte lands.
import { RestartError, type AnswerInfo } from './answer-check.js'
import { AttemptRecord } from './attempt-record.js'
import type { FileDigest } from './file-digest.js'
import type { RangeBook } from './range-book.js'
import type { ResumeState } from './resume-state.js'
import type { RunningRequests } from './running-requests.js'
import type { SegmentReceiver } from './segment-receiver.js'
import type { DownloadProgress } from './types.js'

export interface FileParts {
  record: AttemptRecord
  book: RangeBook
  digest: FileDigest
  requests: RunningRequests
  progress: DownloadProgress
}

export class FirstAnswer {
  /** the first answer's status, 0 before it */
  status = 0
  /** the whole file's size, once a server said it */
  size: number | null = null

  constructor(
    private readonly parts: FileParts,
    /** false: this attempt uses one connection (a server ignored a range before, or this one did) */
    public split: boolean,
  ) {}

  /** Takes the answer to the attempt's first request, before any byte is written; returns the file's record, if it has one. */
  async take(info: AnswerInfo, receiver: SegmentReceiver): Promise<ResumeState | null> {
    const { record, progress } = this.parts
    this.status = info.status
    if (record.state && info.status !== 206) {
      // While this is the only connection, it starts over in place.
      if (this.parts.requests.othersRunning) throw new RestartError('the server answered a range with the whole file', info.status)
      await receiver.rewind()
      Object.assign(receiver.segment, { start: 0, end: Infinity, done: 0 })
      this.parts.book.clear()
      record.drop()
      this.split = false
      progress.bytes = 0
      this.parts.digest.fromStart()
    }
    if (!record.state) {
      this.size = info.size
      // Known as soon as the server says it, for progress: not only at the end.
      progress.size = info.size
      if (info.size !== null) receiver.segment.end = info.size
      if (info.size !== null && AttemptRecord.worth(info.validator, info.size)) {
        await receiver.opened()
        await record.create(info.validator, info.size, receiver.segment)
      }
    }
    if (record.state) this.size = record.state.size
    return record.state
  }
}
