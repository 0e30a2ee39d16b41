// The resume record as one attempt keeps it: loaded when a partial file may
// wait on disk, created once the first answer shows a file worth resuming,
// saved at an interval while requests run and on a failure that keeps the
// bytes, dropped when the file starts over. ResumeState owns the record's
// format and file; this owns when it is read and written.
import { DownloadError } from './errors.js'
import { ResumeState, RESUME_MIN_BYTES, type Segment } from './resume-state.js'

/** How often a running file's record is brought up to date: what a kill -9 may cost to fetch again, per connection. */
const SAVE_INTERVAL_MS = 1000

export class AttemptRecord {
  private current: ResumeState | null = null
  private timer: NodeJS.Timeout | null = null

  constructor(
    private readonly tmp: string,
    /** called before each save, to bring the segments' `done` up to what has reached the disk */
    private readonly beforeSave: () => void,
  ) {}

  /** The record, while the file has one. */
  get state(): ResumeState | null {
    return this.current
  }

  /** Reads what an earlier attempt left; a record that does not hold is removed. */
  async load(): Promise<ResumeState | null> {
    this.current = await ResumeState.load(this.tmp)
    if (!this.current) await ResumeState.forget(this.tmp)
    else this.current.beforeSave = this.beforeSave
    return this.current
  }

  /** Whether a file gets a record: its size is known, its validator strong, and it is worth resuming. */
  static worth(validator: string | null, size: number): validator is string {
    return validator !== null && validator !== '' && size >= RESUME_MIN_BYTES
  }

  /** Creates the record of a file `worth` one, saved before its bytes land. */
  async create(validator: string, size: number, lead: Segment): Promise<void> {
    this.current = new ResumeState(this.tmp, validator, size, [lead])
    this.current.beforeSave = this.beforeSave
    await this.current.save()
  }

  /** The file starts over from byte 0: the record no longer holds. */
  drop(): void {
    this.current = null
  }

  /** Saves the record every interval from now on, and calls `tick` after each save is asked. */
  keepSaving(tick: () => void): void {
    const state = this.current!
    this.timer ??= setInterval(() => {
      void state.save().catch(() => {})
      tick()
    }, SAVE_INTERVAL_MS)
  }

  /** The transfer is over: saving stops. */
  stop(): void {
    if (this.timer) clearInterval(this.timer)
  }

  /** After a failure that keeps the bytes, the record is saved once more. */
  async keepAfter(failure: unknown): Promise<void> {
    const resumable = !(failure instanceof DownloadError) || failure.resumable
    if (this.current && resumable) await this.current.save().catch(() => {})
  }
}
