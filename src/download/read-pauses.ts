import type { Dispatcher } from 'undici'

/**
 * Why one request's socket is paused now: a batch being written, a bandwidth
 * cap's wait, or both. Reading resumes once none is left, so that the end of
 * one never resumes what the other still holds.
 */
export class ReadPauses {
  private holds = 0
  private timer: NodeJS.Timeout | null = null

  constructor(private readonly controller: () => Dispatcher.DispatchController) {}

  /** Paused until `work` settles; a failure goes to `onError`, and the socket stays paused. */
  until(work: Promise<void>, onError: (err: unknown) => void): void {
    this.hold()
    work.then(() => this.release(), onError)
  }

  /** Paused for `ms`; `then` runs as it ends. */
  for(ms: number, then: () => void): void {
    this.hold()
    this.timer = setTimeout(() => {
      this.timer = null
      then()
      this.release()
    }, ms)
  }

  /** The request is over: no timer is left behind. */
  clear(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }

  private hold(): void {
    if (this.holds++ === 0) this.controller().pause()
  }

  private release(): void {
    if (--this.holds === 0) this.controller().resume()
  }
}
