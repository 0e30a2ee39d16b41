// REPORT.txt of GET /tasks/:id/archive?report=1: every file of the task that
// is not in the zip, with its reason in plain words.
import type { ArchiveView, LeftOutFile } from '../tasks/store.js'
import { describeFileError } from '../tasks/file-errors.js'

/** Why a file is not in the zip. */
function reasonOf(f: LeftOutFile): string {
  switch (f.state) {
    case 'failed':
      return describeFileError(f.error, f.http_status)
    case 'cancelled':
      return 'Cancelled'
    default:
      return 'Not downloaded yet: the task is still running'
  }
}

/** The report's text, from a view read with its left-out files; CRLF line ends, so that any editor shows its lines. */
export function archiveReport(taskId: string, view: Pick<ArchiveView, 'files' | 'leftOut'>): string {
  const missing = view.leftOut
  const zipped = view.files - missing.length
  const lines =
    missing.length === 0
      ? [`Task ${taskId}: all ${view.files} files are in this zip.`]
      : [
          `Task ${taskId}: ${zipped} of ${view.files} files are in this zip; these ${missing.length} are not:`,
          '',
          ...missing.map((f) => `${f.saved_as}${f.fn === f.saved_as ? '' : ` (submitted as "${f.fn}")`}: ${reasonOf(f)}`),
        ]
  return lines.map((l) => `${l}\r\n`).join('')
}

/** REPORT.txt, or REPORT (2).txt and so on when a file of the task has that name (in any case). */
export function reportName(taken: Iterable<string>): string {
  const names = new Set<string>()
  for (const n of taken) names.add(n.toLowerCase())
  for (let i = 1; ; i++) {
    const name = i === 1 ? 'REPORT.txt' : `REPORT (${i}).txt`
    if (!names.has(name.toLowerCase())) return name
  }
}
