// One attempt at one file, over one connection or several. The first
// connection asks for the whole file (or, resuming, for the first missing
// range). Once its answer shows a known size, a strong validator and range
// support, the file takes the connections the scheduler offers when nothing
// else waits: each fetches a range with If-Range and writes at its offset
// into the one partial file. The ranges and what is on disk are recorded,
// so that whoever runs the next attempt, in this worker or another, fetches
// only what is missing.
import { DownloadError } from './errors.js'
import { FileDigest } from './file-digest.js'
import { FileSink } from './file-sink.js'
import { ResumeState, RESUME_MIN_BYTES, type Segment } from './resume-state.js'
import { RestartError, SegmentReceiver, type AnswerInfo, type SegmentContext } from './segment-receiver.js'
import { planNext } from './segment-planner.js'
import type { DownloadRequest, Downloader, ExtraWanter, Release, Yielder } from './types.js'

/** How often a running file's record is brought up to date: what a kill -9 may cost to fetch again, per connection. */
const SAVE_INTERVAL_MS = 1000
/** A request this close to its end is left to finish rather than stopped for another task: it frees its connection soon anyway. */
const YIELD_MIN_BYTES = 256 * 1024

export interface Transferred {
  bytes: number
  size: number | null
  status: number
}

export class FileTransfer implements ExtraWanter, Yielder {
  readonly host: string
  private state: ResumeState | null = null
  private lead: SegmentReceiver | null = null
  private readonly running = new Map<SegmentReceiver, Release>()
  /** missing ranges no connection fetches yet */
  private readonly pending: Segment[] = []
  /** ranges split off with a connection, waiting for their record to be saved */
  private readonly starting = new Set<Segment>()
  /** requests stopped to give their connection back (see yieldOne) */
  private readonly yielded = new Set<SegmentReceiver>()
  /** receivers running, segments waiting for their record to be saved, sinks closing */
  private busy = 0
  private failure: unknown = null
  private readonly digest: FileDigest
  private status = 0
  private size: number | null = null
  private wanting = false
  private timer: NodeJS.Timeout | null = null
  private idle!: () => void
  private readonly settled = new Promise<void>((resolve) => (this.idle = resolve))

  constructor(
    private readonly downloader: Downloader,
    private readonly req: DownloadRequest,
    private readonly attempt: number,
    /** false: this attempt uses one connection (a server ignored a range before) */
    private split: boolean,
  ) {
    this.host = new URL(req.url).host
    this.digest = new FileDigest(req.sha256)
  }

  async run(): Promise<Transferred> {
    const { req } = this
    const resuming = req.mayHavePartial || this.attempt > 1
    this.state = resuming ? await ResumeState.load(req.tmp) : null
    if (resuming && !this.state) await ResumeState.forget(req.tmp)
    const release = await req.acquireConnection(this.host)
    req.progress.attempt = this.attempt
    let lead: Segment = { start: 0, end: Infinity, done: 0 }
    if (this.state) {
      const [first, ...rest] = this.state.missing()
      lead = first!
      this.pending.push(...rest)
      req.progress.bytes = this.state.received()
      req.progress.size = this.state.size
      this.digest.outOfOrder()
      this.state.beforeSave = () => this.syncDone()
    } else {
      req.progress.bytes = 0
      this.digest.fromStart()
    }
    this.lead = this.start(lead, release, !this.state)
    await this.settled
    return this.finish()
  }

  /** The scheduler offers one more connection: a missing range or half of the widest running one. */
  offer(release: Release): boolean {
    const state = this.state
    if (!state || this.failure || this.req.signal.aborted || !this.split) return (this.wanting = false)
    // A capped file that reads at its cap gains nothing from one more connection but one more idle socket.
    if (this.req.throttle?.saturated()) return (this.wanting = false)
    const running = [...this.running.keys()].map((r) => ({ segment: r.segment, position: r.position }))
    for (const segment of this.starting) running.push({ segment, position: segment.start })
    const segment = planNext(this.pending, running, this.downloader.policy.segmentMinBytes ?? 0)
    if (!segment) return (this.wanting = false)
    if (state.segments.includes(segment)) {
      this.start(segment, release, false)
      return true
    }
    // A split: on record before its bytes land, and the whole file is hashed at the end.
    state.segments.push(segment)
    this.digest.outOfOrder()
    this.busy++
    this.starting.add(segment)
    state.save().then(
      () => {
        this.busy--
        this.starting.delete(segment)
        if (this.failure || this.req.signal.aborted) {
          release()
          this.check()
        } else this.start(segment, release, false)
      },
      (err: unknown) => {
        this.busy--
        this.starting.delete(segment)
        release()
        this.fail(err)
        this.check()
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
    const state = this.state
    if (!state || this.failure || this.req.signal.aborted) return false
    let chosen: SegmentReceiver | null = null
    for (const r of this.running.keys()) {
      if (this.yielded.has(r) || !r.receiving) continue
      if (r.segment.end - r.position >= YIELD_MIN_BYTES && (!chosen || r.segment.end - r.position > chosen.segment.end - chosen.position)) chosen = r
    }
    if (!chosen) return false
    const rest: Segment = { start: chosen.position, end: chosen.segment.end, done: 0 }
    chosen.stop()
    this.yielded.add(chosen)
    state.segments.push(rest)
    this.pending.unshift(rest)
    this.digest.outOfOrder()
    return true
  }

  private start(segment: Segment, release: Release, create: boolean): SegmentReceiver {
    const { disk, dispatcher } = this.downloader
    const from = segment.start + segment.done
    // Opened while the request is out; its failure is met when the answer needs it.
    const opening = FileSink.openAt(disk, this.req.tmp, from, create)
    opening.catch(() => {})
    const receiver = new SegmentReceiver(this.context(), segment, from, opening)
    this.running.set(receiver, release)
    this.busy++
    const { origin, pathname, search } = new URL(this.req.url)
    // The caller's headers on every request, ranges included; Range and If-Range are never among them.
    const headers = { ...this.req.headers, ...receiver.headers() }
    dispatcher.dispatch({ origin, path: pathname + search, method: 'GET', headers }, receiver)
    receiver.done.then(
      () => this.ended(receiver, null),
      (err: unknown) => this.ended(receiver, err),
    )
    return receiver
  }

  private context(): SegmentContext {
    const { req, state } = this
    return {
      policy: this.downloader.policy,
      progress: req.progress,
      signal: req.signal,
      throttle: req.throttle,
      expect: state ? { validator: state.validator, size: state.size } : null,
      onAnswer: (info, receiver) => this.onAnswer(info, receiver),
      // Read per chunk: a split stops the hashing as it goes.
      hash: () => this.digest.live,
    }
  }

  private async onAnswer(info: AnswerInfo, receiver: SegmentReceiver): Promise<void> {
    if (receiver !== this.lead) {
      if (info.status !== 206) throw new RestartError('the server answered a range with the whole file', info.status)
      return
    }
    this.status = info.status
    if (this.state && info.status !== 206) {
      // The whole file came instead of the rest: a new version, or no ranges.
      // While this is the only connection, it starts over in place.
      if (this.running.size > 1 || this.busy > 1) throw new RestartError('the server answered a range with the whole file', info.status)
      await receiver.rewind()
      Object.assign(receiver.segment, { start: 0, end: Infinity, done: 0 })
      this.pending.length = 0
      this.state = null
      this.split = false
      this.req.progress.bytes = 0
      this.digest.fromStart()
    }
    if (!this.state) {
      this.size = info.size
      // Known as soon as the server says it, for progress: not only at the end.
      this.req.progress.size = info.size
      if (info.size !== null) receiver.segment.end = info.size
      await receiver.opened()
      if (info.size !== null && info.validator && info.size >= RESUME_MIN_BYTES) {
        this.state = new ResumeState(this.req.tmp, info.validator, info.size, [receiver.segment])
        this.state.beforeSave = () => this.syncDone()
        await this.state.save()
      }
    }
    const state = this.state
    if (!state) return
    this.size = state.size
    const minBytes = this.downloader.policy.segmentMinBytes ?? 0
    const splittable = this.split && info.ranges && minBytes > 0 && (this.pending.length > 0 || state.size >= 2 * minBytes)
    if (this.split && info.ranges) this.req.extra?.mayYield(this)
    this.timer ??= setInterval(() => {
      void state.save().catch(() => {})
      // Under a cap, more connections only once one has shown that the origin, not the cap, sets the pace.
      if (splittable && this.req.throttle && !this.req.throttle.saturated()) this.wantMore()
    }, SAVE_INTERVAL_MS)
    if (splittable && !this.req.throttle) this.wantMore()
  }

  private wantMore(): void {
    if (this.wanting || !this.req.extra) return
    this.wanting = true
    this.req.extra.wantExtra(this)
  }

  private ended(receiver: SegmentReceiver, err: unknown): void {
    const release = this.running.get(receiver)!
    this.running.delete(receiver)
    const yielded = this.yielded.delete(receiver)
    if (err) this.fail(err)
    const next = !yielded && !this.failure && !this.req.signal.aborted ? this.pending.shift() : undefined
    // A missing range no one fetches keeps this connection; otherwise it goes back, and
    // the scheduler may offer it to this file again, for a split.
    if (next) this.start(next, release, false)
    else release()
    if (yielded && this.running.size === 0 && this.starting.size === 0) this.resume()
    // The last batch lands after the connection went on to other work.
    receiver.close().then(
      () => {
        if (!err) receiver.segment.done = receiver.segment.end - receiver.segment.start
      },
      (e: unknown) => this.fail(e),
    ).finally(() => {
      this.busy--
      if (!this.failure && this.split && this.state) this.wantMore()
      this.check()
    })
  }

  /** After giving its last connection back: waits for the next, to fetch the rest. */
  private resume(): void {
    if (this.failure || this.req.signal.aborted) return
    this.busy++
    this.req.acquireConnection(this.host, true).then(
      (release) => {
        this.busy--
        const next = !this.failure && !this.req.signal.aborted ? this.pending.shift() : undefined
        if (next) this.start(next, release, false)
        else {
          release()
          this.check()
        }
      },
      () => {
        this.busy--
        this.check()
      },
    )
  }

  private fail(err: unknown): void {
    if (this.failure) return
    this.failure = err
    this.req.extra?.forget(this)
    this.req.extra?.forgetYielder(this)
    for (const receiver of this.running.keys()) receiver.abort(err)
  }

  private check(): void {
    if (this.busy === 0) this.idle()
  }

  /** Brings each running segment's `done` up to the bytes its sink has written. */
  private syncDone(): void {
    for (const r of this.running.keys()) r.segment.done = Math.max(r.segment.done, r.written)
  }

  private async finish(): Promise<Transferred> {
    const { req } = this
    if (this.timer) clearInterval(this.timer)
    req.extra?.forget(this)
    req.extra?.forgetYielder(this)
    this.wanting = false
    if (this.failure) {
      const resumable = !(this.failure instanceof DownloadError) || this.failure.resumable
      if (this.state && resumable) await this.state.save().catch(() => {})
      throw this.failure
    }
    const bytes = this.state ? this.state.received() : this.lead!.pushed
    const size = this.size
    if (size !== null && bytes !== size) {
      throw new DownloadError('size_mismatch', true, `received ${bytes} bytes of ${size}`, this.status).notResumable()
    }
    await this.digest.check(req.tmp, this.status)
    await this.downloader.disk.rename(req.tmp, req.dest)
    if (this.state) await ResumeState.forget(req.tmp)
    return { bytes, size, status: this.status }
  }
}
