// What a submitted body becomes: the files as stored (names assigned), their
// headers, mirrors and cap, and the fingerprint that tells a resubmit from a
// conflict. Everything the schema cannot check is checked here, every
// problem at once.
import { createHash } from 'node:crypto'
import { InvalidRequestError } from '../errors.js'
import type { AddressPolicy } from '../net/address-policy.js'
import { assignSavedNames, fileNameProblem } from '../tasks/names.js'
import type { TaskRequest } from '../tasks/schemas.js'
import { requestSources, type TaskSources } from '../tasks/sources.js'
import type { FileSpec } from '../tasks/store.js'
import type { CallbackCheck } from '../webhooks/callback-url.js'

/** Problems listed in one refusal, at most. */
const MAX_DETAILS = 100

/** Validates what the schema cannot say; every problem is named by its JSON pointer. */
export function toSpec(body: TaskRequest, policy: AddressPolicy, checkCallback: CallbackCheck): { spec: FileSpec[]; sources: TaskSources } {
  const details: { path: string; message: string }[] = []
  const callbackProblem = body.callback_url === undefined ? null : checkCallback(body.callback_url)
  if (callbackProblem) details.push({ path: '/callback_url', message: callbackProblem })
  body.task_info.forEach((f, i) => {
    const problem = fileNameProblem(f.fn)
    if (problem) details.push({ path: `/task_info/${i}/fn`, message: `fn ${problem}` })
    const urlProblem = policy.urlProblem(f.url)
    if (urlProblem) details.push({ path: `/task_info/${i}/url`, message: urlProblem })
  })
  const { sources, problems } = requestSources(body, (url) => policy.urlProblem(url))
  details.push(...problems)
  if (details.length > 0) {
    throw new InvalidRequestError(`${details[0]!.path}: ${details[0]!.message}`, details.slice(0, MAX_DETAILS))
  }
  const names = assignSavedNames(body.task_info)
  const spec = body.task_info.map((f, i) => ({
    fn: f.fn,
    url: f.url,
    saved_as: names[i]!,
    ...(f.sha256 ? { sha256: f.sha256.toLowerCase() } : {}),
  }))
  return { spec, sources }
}

/**
 * What makes a resubmit the same task: its files, their URLs and mirrors.
 * Not the headers: a resubmit with a renewed cookie is the same download.
 */
export function fingerprintOf(spec: FileSpec[], sources: TaskSources): string {
  // The mirrors only where some are given: tasks without keep the fingerprint they always had.
  const files = spec.map((f, i) => (sources.mirrors[i] ? [f.fn, f.url, f.sha256 ?? '', ...sources.mirrors[i]] : [f.fn, f.url, f.sha256 ?? '']))
  const canonical = JSON.stringify(files)
  return createHash('sha256').update(canonical).digest('hex')
}
