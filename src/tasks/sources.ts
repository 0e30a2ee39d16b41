// How a task's files are fetched besides their URL: request headers (task's
// and file's), mirrors and the rate cap. Stored in the task's meta hash, beside
// the URLs: the headers are secrets and must not outlive them.
import { headerBytes, headerProblems, MAX_HEADER_BYTES, mergeHeaders, sizeProblem, type Headers, type Problem } from './request-headers.js'
import type { TaskRequest } from './schemas.js'

/** Request headers of a task and of some of its files (by index); secrets, stored beside the URLs. */
export interface StoredHeaders {
  task?: Headers
  files?: Record<string, Headers>
}

/** How a task's files are fetched besides their URL: headers, mirrors (by file index), the rate cap. */
export interface TaskSources {
  headers: StoredHeaders
  mirrors: Record<string, string[]>
  maxBytesPerSecond: number | null
}

/** What file `index` is sent with, and where else it may be had. */
export function fileSources(sources: TaskSources, index: number): { headers: Headers; mirrors: string[] } {
  return { headers: mergeHeaders(sources.headers.task, sources.headers.files?.[index]), mirrors: sources.mirrors[index] ?? [] }
}

export function sourcesOf(meta: Record<string, string>): TaskSources {
  return {
    headers: meta.headers ? (JSON.parse(meta.headers) as StoredHeaders) : {},
    mirrors: meta.mirrors ? (JSON.parse(meta.mirrors) as Record<string, string[]>) : {},
    maxBytesPerSecond: meta.max_bps ? Number(meta.max_bps) : null,
  }
}

/**
 * The headers, mirrors and cap of a submitted task, with every problem of
 * them (JSON pointers into the request; never a header's value).
 */
export function requestSources(body: TaskRequest, urlProblem: (url: string) => string | null): { sources: TaskSources; problems: Problem[] } {
  const problems: Problem[] = []
  const sources: TaskSources = { headers: {}, mirrors: {}, maxBytesPerSecond: body.max_bytes_per_second ?? null }
  if (body.headers) {
    problems.push(...headerProblems(body.headers, '/headers'))
    const bytes = headerBytes(body.headers)
    if (bytes > MAX_HEADER_BYTES) problems.push({ path: '/headers', message: sizeProblem(bytes, 'the task\'s headers are') })
    if (Object.keys(body.headers).length > 0) sources.headers.task = mergeHeaders(body.headers, undefined)
  }
  const taskBytes = body.headers ? headerBytes(mergeHeaders(body.headers, undefined)) : 0
  body.task_info.forEach((f, i) => {
    if (f.headers && Object.keys(f.headers).length > 0) {
      problems.push(...headerProblems(f.headers, `/task_info/${i}/headers`))
      const bytes = headerBytes(mergeHeaders(body.headers, f.headers))
      // Only when the task's alone are within the limit: that problem is told once, above.
      if (bytes > MAX_HEADER_BYTES && taskBytes <= MAX_HEADER_BYTES) {
        problems.push({ path: `/task_info/${i}/headers`, message: sizeProblem(bytes, 'the task\'s and this file\'s headers are') })
      }
      ;(sources.headers.files ??= {})[i] = mergeHeaders(undefined, f.headers)
    }
    f.mirrors?.forEach((url, m) => {
      const problem = urlProblem(url)
      if (problem) problems.push({ path: `/task_info/${i}/mirrors/${m}`, message: problem.replace(/^url /, 'mirror ') })
    })
    if (f.mirrors && f.mirrors.length > 0) sources.mirrors[i] = f.mirrors
  })
  return { sources, problems }
}
