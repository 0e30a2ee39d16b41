// The CLI's view of the API: requests with the key, and every failure as a
// CliError whose message a person can act on (never a stack trace).
import { Readable } from 'node:stream'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'

/** A failure the CLI reports in one line and exits 2 for. */
export class CliError extends Error {
  readonly code = 'cli_error'
}

interface ErrorAnswer {
  error?: string
  message?: string
  details?: { path: string; message: string }[]
}

export type Client = ReturnType<typeof createClient>

export function createClient(baseUrl: string, key: string | undefined) {
  const base = baseUrl.replace(/\/$/, '')
  const auth: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {}

  async function send(method: string, path: string, body?: unknown): Promise<Response> {
    try {
      // A JSON content type on an empty body is refused: only when there is one.
      return await fetch(base + path, {
        method,
        headers: body === undefined ? auth : { ...auth, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause
      throw new CliError(
        `cannot reach batchdl at ${base} (${cause?.code ?? cause?.message ?? (err as Error).message}): ` +
          'is it running? Set BATCHDL_URL or --url to where it listens',
      )
    }
  }

  async function refusal(res: Response): Promise<CliError> {
    const text = await res.text()
    let answer: ErrorAnswer = {}
    try {
      answer = JSON.parse(text) as ErrorAnswer
    } catch {
      // not the service's JSON: show the text
    }
    const details = answer.details?.map((d) => `\n  ${d.path || 'body'}: ${d.message}`).join('') ?? ''
    const hint = res.status === 401 ? ' (set BATCHDL_API_KEY or --key)' : ''
    return new CliError(`${res.status} ${answer.error ?? ''}: ${answer.message ?? text}${hint}${details}`)
  }

  return {
    base,
    async json<T>(method: string, path: string, body?: unknown): Promise<T> {
      const res = await send(method, path, body)
      if (!res.ok) throw await refusal(res)
      return (await res.json()) as T
    },
    /** A binary answer as a Node stream, and its declared length. */
    async download(path: string): Promise<{ body: Readable; length: string | null }> {
      const res = await send('GET', path)
      if (!res.ok || !res.body) throw await refusal(res)
      return { body: Readable.fromWeb(res.body as WebReadableStream), length: res.headers.get('content-length') }
    },
  }
}
