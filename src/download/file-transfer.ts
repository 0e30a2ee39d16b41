// One attempt at one file, over one connection or several; it conducts the
// parts. The first request asks for the whole file, or resuming for the first
// missing range, and FirstAnswer settles what its answer means. Once the file
// has a record and the server takes ranges, the file takes the connections the
// scheduler offers (RangeBook picks each one's range, SegmentSender puts it on
// the wire) and gives one back when asked. AttemptRecord keeps what is on disk
// on record, so that the next attempt, in this worker or another, fetches only
// what is missing; completeFile checks and renames the file at the end.
import { RestartError, type AnswerInfo } from './answer-check.js'
import { AttemptRecord } from './attempt-record.js'
import { completeFile, type Transferred } from './file-completion.js'
import { FileDigest } from './file-digest.js'
import { FirstAnswer } from './first-answer.js'
import { RangeBook } from './range-book.js'
import type { Segment } from './resume-state.js'
import { RunningRequests } from './running-requests.js'
import type { SegmentReceiver } from './segment-receiver.js'
import { SegmentSender } from './segment-sender.js'
import type { DownloadRequest, Downloader, ExtraWanter, Release, Yielder } from './types.js'

export class FileTransfer implements ExtraWanter, Yielder {
  readonly host: string
  private readonly record: AttemptRecord
  private lead: SegmentReceiver | null = null
  // A failure ends every request: the scheduler offers and asks nothing more of this file.
  private readonly requests = new RunningRequests(() => this.leaveLane())
  private readonly book = new RangeBook()
  private readonly digest: FileDigest
  private readonly sender: SegmentSender
  private readonly first: FirstAnswer
  private wanting = false

  constructor(
    private readonly downloader: Downloader,
    private readonly req: DownloadRequest,
    private readonly attempt: number,
    /** false: this attempt uses one connection (a server ignored a range before) */
    split: boolean,
  ) {
    this.digest = new FileDigest(req.sha256)
    this.record = new AttemptRecord(req.tmp, () => this.requests.syncDone())
    const { record, book, digest, requests } = this
    this.first = new FirstAnswer({ record, book, digest, requests, progress: req.progress }, split)
    this.sender = new SegmentSender(downloader, req, {
      policy: downloader.policy,
      progress: req.progress,
      signal: req.signal,
      throttle: req.throttle,
      onAnswer: (info, receiver) => this.onAnswer(info, receiver),
      // Read per chunk: a split stops the hashing as it goes.
      hash: () => this.digest.live,
    })
    this.host = this.sender.host
  }

  async run(): Promise<Transferred> {
    const { req } = this
    const state = req.mayHavePartial || this.attempt > 1 ? await this.record.load() : null
    const release = await req.acquireConnection(this.host)
    req.progress.attempt = this.attempt
    let lead: Segment = { start: 0, end: Infinity, done: 0 }
    if (state) {
      const [first, ...rest] = state.missing()
      lead = first!
      this.book.waitFor(rest)
      req.progress.bytes = state.received()
      req.progress.size = state.size
      this.digest.outOfOrder()
    } else {
      req.progress.bytes = 0
      this.digest.fromStart()
    }
    this.lead = this.start(lead, release, !state)
    await this.requests.settled
    return this.finish()
  }

  /** The scheduler offers one more connection: a missing range or half of the widest running one. */
  offer(release: Release): boolean {
    const state = this.record.state
    if (!state || this.stopped || !this.first.split) return (this.wanting = false)
    // A capped file that reads at its cap gains nothing from one more connection but one more idle socket.
    if (this.req.throttle?.saturated()) return (this.wanting = false)
    const segment = this.book.plan(this.requests.receivers(), this.downloader.policy.segmentMinBytes ?? 0)
    if (!segment) return (this.wanting = false)
    if (state.segments.includes(segment)) {
      this.start(segment, release, false)
      return true
    }
    // A split: on record before its bytes land, and the whole file is hashed at the end.
    state.segments.push(segment)
    this.digest.outOfOrder()
    this.requests.enter()
    this.book.startSplit(segment)
    state.save().then(
      () => {
        this.requests.leave()
        this.book.splitSaved(segment)
        if (this.stopped) {
          release()
          this.requests.check()
        } else this.start(segment, release, false)
      },
      (err: unknown) => {
        this.requests.leave()
        this.book.splitSaved(segment)
        release()
        this.requests.fail(err)
        this.requests.check()
      },
    )
    return true
  }

  /**
   * The scheduler asks a connection back for a task that holds none: the
   * request with the most left to fetch stops where it stands, and the rest
   * of its range waits, first in line, for this file's next connection.
   */
  yieldOne(): boolean {
    const state = this.record.state
    if (!state || this.stopped) return false
    const rest = this.book.yieldOne(this.requests.receivers())
    if (!rest) return false
    state.segments.push(rest)
    this.digest.outOfOrder()
    return true
  }

  private start(segment: Segment, release: Release, create: boolean): SegmentReceiver {
    const { state } = this.record
    const receiver = this.sender.receiver(segment, create, state ? { validator: state.validator, size: state.size } : null)
    this.requests.add(receiver, release)
    this.sender.send(receiver)
    receiver.done.then(
      () => this.ended(receiver, null),
      (err: unknown) => this.ended(receiver, err),
    )
    return receiver
  }

  private async onAnswer(info: AnswerInfo, receiver: SegmentReceiver): Promise<void> {
    if (receiver !== this.lead) {
      if (info.status !== 206) throw new RestartError('the server answered a range with the whole file', info.status)
      return
    }
    const state = await this.first.take(info, receiver)
    if (!state) return
    const minBytes = this.downloader.policy.segmentMinBytes ?? 0
    const splittable = this.first.split && info.ranges && minBytes > 0 && (this.book.anyWaiting || state.size >= 2 * minBytes)
    if (this.first.split && info.ranges) this.req.extra?.mayYield(this)
    this.record.keepSaving(() => {
      // Under a cap, more connections only once one has shown that the origin, not the cap, sets the pace.
      if (splittable && this.req.throttle && !this.req.throttle.saturated()) this.wantMore()
    })
    if (splittable && !this.req.throttle) this.wantMore()
  }

  private wantMore(): void {
    if (this.wanting || !this.req.extra) return
    this.wanting = true
    this.req.extra.wantExtra(this)
  }

  private ended(receiver: SegmentReceiver, err: unknown): void {
    const release = this.requests.remove(receiver)
    const yielded = this.book.endedYielded(receiver)
    if (err) this.requests.fail(err)
    const next = !yielded && !this.stopped ? this.book.next() : undefined
    // A missing range no one fetches keeps this connection; otherwise it goes back, and
    // the scheduler may offer it to this file again, for a split.
    if (next) this.start(next, release, false)
    else release()
    if (yielded && this.requests.none && !this.book.anyStarting) this.resume()
    // The last batch lands after the connection went on to other work.
    receiver.close().then(
      () => {
        if (!err) receiver.segment.done = receiver.segment.end - receiver.segment.start
        this.closed()
      },
      (e: unknown) => {
        this.requests.fail(e)
        this.closed()
      },
    )
  }

  /** A request's sink closed: the file may use one more connection, or its transfer is over. */
  private closed(): void {
    this.requests.leave()
    if (!this.requests.failed && this.first.split && this.record.state) this.wantMore()
    this.requests.check()
  }

  /** After giving its last connection back: waits for the next, to fetch the rest. */
  private resume(): void {
    if (this.stopped) return
    this.requests.enter()
    this.req.acquireConnection(this.host, true).then(
      (release) => {
        this.requests.leave()
        const next = !this.stopped ? this.book.next() : undefined
        if (next) this.start(next, release, false)
        else {
          release()
          this.requests.check()
        }
      },
      () => {
        this.requests.leave()
        this.requests.check()
      },
    )
  }

  private leaveLane(): void {
    this.req.extra?.forget(this)
    this.req.extra?.forgetYielder(this)
  }

  /** Failed or aborted: no new request starts. */
  private get stopped(): boolean {
    return Boolean(this.requests.failed) || this.req.signal.aborted
  }

  private async finish(): Promise<Transferred> {
    const { req } = this
    this.leaveLane()
    this.wanting = false
    this.record.stop()
    const failure = this.requests.failed
    if (failure) {
      await this.record.keepAfter(failure)
      throw failure
    }
    const { state } = this.record
    const bytes = state ? state.received() : this.lead!.pushed
    const { disk } = this.downloader
    return completeFile({ bytes, size: this.first.size, status: this.first.status, disk, digest: this.digest, tmp: req.tmp, dest: req.dest, recorded: state !== null })
  }
}
