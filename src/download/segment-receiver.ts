// One request and its answer, handled as undici delivers it: a dispatch
// handler rather than request() and a Readable body, which cost more CPU per
// file (docs/decisions/0005-dispatch-handler.md).
// It receives one segment of a file: the whole file, or one range of it,
// written at its offset. The disk sets the pace: a full batch pauses the
// socket until it is written; so does a bandwidth cap, for as long as it says.
import type { Hash } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import type { Dispatcher } from 'undici'
import { checkAnswer, refusalOf, type AnswerInfo, type Expected } from './answer-check.js'
import { DownloadError } from './errors.js'
import type { FileSink } from './file-sink.js'
import { ReadPauses } from './read-pauses.js'
import type { Segment } from './resume-state.js'
import { SpeedCheck } from './speed-check.js'
import type { Throttle } from './token-bucket.js'
import type { DownloadPolicy, DownloadProgress } from './types.js'

/** An error answer's body is read to keep the connection, up to this much; past it the connection is dropped. */
const DRAIN_LIMIT = 128 * 1024

/** What every request of one file shares. */
export interface SegmentContext {
  policy: DownloadPolicy
  progress: DownloadProgress
  signal: AbortSignal
  /** the bandwidth caps this request reads under */
  throttle?: Throttle
  /**
   * Called with the answer before any byte is written; may rewind the sink
   * (the whole file came instead of a range). Throws to refuse the answer.
   */
  onAnswer(info: AnswerInfo, receiver: SegmentReceiver): Promise<void>
  /** the hash the file's bytes go through as they come, while there is one */
  hash(): Hash | null
}

export class SegmentReceiver implements Dispatcher.DispatchHandler {
  /** settles when the segment's bytes are all pushed to the sink, or with why not */
  readonly done: Promise<void>
  /** bytes of the segment handed to the sink by this request */
  pushed = 0
  status = 0
  private controller: Dispatcher.DispatchController | null = null
  private sink: FileSink | null = null
  private refusal: DownloadError | null = null
  private drained = 0
  private complete = false
  /** the answer was taken and its bytes go to the file */
  private answered = false
  /** where the answer's body ends in the file: past the segment's end once the segment was cut short */
  private answerEnd = Infinity
  /** why the transfer stopped this request, once it did */
  private stopped: unknown = null
  private readonly speed: SpeedCheck
  private readonly pauses = new ReadPauses(() => this.controller!)
  private resolve!: () => void
  private reject!: (err: unknown) => void
  private readonly onAbort = () => this.controller?.abort(new DOMException('the download was aborted', 'AbortError'))

  constructor(
    private readonly ctx: SegmentContext,
    /** the file's version this range must belong to; null: the request is for the whole file */
    private readonly expect: Expected,
    readonly segment: Segment,
    /** where this request's first byte goes; the segment's bytes before it are on disk already */
    private from: number,
    private readonly opening: Promise<FileSink>,
  ) {
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve
      this.reject = reject
    })
    this.speed = new SpeedCheck(ctx.policy.minSpeedBytes, ctx.policy.minSpeedWindowMs)
    ctx.signal.addEventListener('abort', this.onAbort, { once: true })
  }

  /** Whether bytes of the answer go to the file now: a request that may be stopped where it stands. */
  get receiving(): boolean {
    return this.answered && !this.complete
  }

  /** The next byte this request writes: where a split of its segment may start. */
  get position(): number {
    return this.from + this.pushed
  }

  /** The segment's bytes on disk so far (writes completed), for the resume record. */
  get written(): number {
    return this.from - this.segment.start + (this.sink?.written ?? 0)
  }

  /** Range and If-Range for the bytes still missing, or none for a whole-file request. */
  headers(): Record<string, string> {
    const { expect } = this
    if (!expect) return {}
    // Open-ended when it runs to the end of the file, as a resumed download always asked.
    const last = this.segment.end >= expect.size ? '' : String(this.segment.end - 1)
    return { range: `bytes=${this.from}-${last}`, 'if-range': expect.validator }
  }

  /** Stops the request; what was written stays. */
  abort(reason: unknown): void {
    this.stopped ??= reason
    if (this.controller) this.fail(reason)
  }

  /**
   * Ends the request where it stands, as if its range ended there: the
   * segment shrinks to the bytes pushed so far, which land on close. Another
   * request fetches the rest.
   */
  stop(): void {
    if (this.complete) return
    this.segment.end = this.position
    this.complete = true
    if (this.controller) this.fail(null)
    else this.stopped ??= new Error('the range was given up')
  }

  /** Rewinds to byte 0 of a new version: the whole file came instead of a range. */
  async rewind(): Promise<void> {
    await this.opened()
    await this.sink!.rewind()
    this.from = 0
    this.pushed = 0
  }

  /** Waits for the file to be open: before another connection writes into it. */
  async opened(): Promise<void> {
    this.sink ??= await this.opening
  }

  /** Closes the sink once the request is over: its last batch lands. */
  close(): Promise<void> {
    return this.sink ? this.sink.close() : this.opening.then((sink) => sink.close())
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller
    if (this.ctx.signal.aborted) this.onAbort()
    else if (this.stopped) controller.abort(this.stopped as Error)
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200) return // informational (103 Early Hints): the answer follows
    this.status = statusCode
    this.refusal = refusalOf(statusCode, headers)
    if (!this.refusal) this.waitFor(this.start(headers))
  }

  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.refusal) {
      this.drained += chunk.length
      if (this.drained > DRAIN_LIMIT) this.fail(this.refusal)
      return
    }
    if (this.complete) return
    try {
      this.take(chunk)
    } catch (err) {
      this.fail(err)
    }
  }

  onResponseEnd(): void {
    if (this.refusal) return this.settle(this.refusal)
    const end = this.segment.end
    if (Number.isFinite(end) && this.position < end) {
      return this.settle(new DownloadError('size_mismatch', true, `the answer ended ${end - this.position} bytes short of its range`, this.status))
    }
    this.settle(null)
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    // A segment cut at its end (another connection took the rest) is complete.
    this.settle(this.complete ? null : err)
  }

  private async start(headers: IncomingHttpHeaders): Promise<void> {
    const info = checkAnswer(this.status, headers, this.from, this.expect, this.ctx.policy.maxBytes)
    this.answerEnd = info.bodyEnd
    await this.ctx.onAnswer(info, this)
    this.sink ??= await this.opening
    this.answered = true
  }

  private take(chunk: Buffer): void {
    const room = this.segment.end - this.position
    if (chunk.length >= room) {
      if (chunk.length > room) chunk = chunk.subarray(0, room)
      this.complete = true
    }
    this.pushed += chunk.length
    if (this.position > this.ctx.policy.maxBytes) throw new DownloadError('file_too_large', false, 'the body is over MAX_FILE_BYTES', this.status)
    this.speed.take(chunk.length, this.status)
    this.ctx.progress.bytes += chunk.length
    this.ctx.hash()?.update(chunk)
    const wait = chunk.length > 0 ? this.sink!.push(chunk) : null
    // The rest of the body belongs to another segment: this request is done. A body
    // that ends where the segment does ends by itself, and keeps its connection.
    if (this.complete && this.segment.end < this.answerEnd) {
      const finish = () => this.fail(null)
      if (wait) wait.then(finish, (err: unknown) => this.fail(err))
      else finish()
      return
    }
    if (wait) this.waitFor(wait)
    // A cap's wait is the reader's own: not held against the origin's speed.
    const pause = this.ctx.throttle?.take(chunk.length) ?? 0
    if (pause >= 1) this.pauses.for(pause, () => this.speed.idle(pause))
  }

  private settle(err: unknown): void {
    this.pauses.clear()
    this.ctx.signal.removeEventListener('abort', this.onAbort)
    if (err) this.reject(err)
    else this.resolve()
  }

  // undici must not be aborted from inside its own callbacks: pause it, abort on the next microtask.
  private fail(err: unknown): void {
    const controller = this.controller!
    controller.pause()
    queueMicrotask(() => controller.abort((err as Error) ?? new Error('segment complete')))
  }

  private waitFor(work: Promise<void>): void {
    this.pauses.until(work, (err: unknown) => this.fail(err))
  }
}
