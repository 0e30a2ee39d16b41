/** Counts free slots; waiters are served first come, first served, and may give up on abort. */
export class Semaphore {
  private readonly waiters: (() => void)[] = []

  constructor(private free: number) {}

  /** Resolves with the release function once a slot is free; rejects with the signal's reason on abort. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason)
    if (this.free > 0) {
      this.free--
      return Promise.resolve(this.releaser())
    }
    return new Promise((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort)
        resolve(this.releaser())
      }
      const onAbort = () => {
        const i = this.waiters.indexOf(grant)
        if (i !== -1) this.waiters.splice(i, 1)
        reject(signal!.reason)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.waiters.push(grant)
    })
  }

  private releaser(): () => void {
    let released = false
    return () => {
      if (released) return
      released = true
      const next = this.waiters.shift()
      if (next) next()
      else this.free++
    }
  }
}

/** Takes a slot of each semaphore, in order; the function returned gives them all back. */
export async function acquireEach(semaphores: readonly Semaphore[], signal: AbortSignal): Promise<() => void> {
  const releases: (() => void)[] = []
  const releaseAll = () => {
    for (const release of releases.splice(0).reverse()) release()
  }
  try {
    for (const semaphore of semaphores) releases.push(await semaphore.acquire(signal))
  } catch (err) {
    releaseAll()
    throw err
  }
  return releaseAll
}

/** Runs `work` over the items with at most `limit` at once; stops taking items once the signal aborts. */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  signal: AbortSignal,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0
  const lane = async () => {
    while (next < items.length && !signal.aborted) await work(items[next++]!)
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane))
}
