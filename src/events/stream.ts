// A task's events as its Redis stream holds them: entries of an event name
// (`e`) and its JSON (`d`), under ids "<ms>-<seq>" that SSE's Last-Event-ID repeats.

export interface TaskEvent {
  id: string
  event: string
  data: string
}

const STREAM_ID = /^\d{1,20}-\d{1,20}$/

/** Orders two stream ids: negative, zero or positive as `a` is before, equal to or after `b`. */
export function compareIds(a: string, b: string): number {
  const [am, as = '0'] = a.split('-')
  const [bm, bs = '0'] = b.split('-')
  return Number(am) - Number(bm) || Number(as) - Number(bs)
}

/** A Last-Event-ID we wrote (a stream id), or null for anything else. */
export function parseLastEventId(value: string | string[] | undefined): string | null {
  const v = Array.isArray(value) ? value[0] : value
  return v && STREAM_ID.test(v.trim()) ? v.trim() : null
}

export type RawEntry = [id: string, fields: string[]]

/** Stream entries as events. */
export function parse(entries: RawEntry[]): TaskEvent[] {
  return entries.map(([id, fields]) => {
    let event = 'message'
    let data = ''
    for (let i = 0; i < fields.length; i += 2) {
      if (fields[i] === 'e') event = fields[i + 1]!
      else if (fields[i] === 'd') data = fields[i + 1]!
    }
    return { id, event, data }
  })
}

