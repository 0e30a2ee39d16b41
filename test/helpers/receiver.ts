// A real webhook receiver on loopback: records every request (headers and raw
// body) and answers what the test says: a list of statuses to give first,
// then `then` (a status, or 'hang' to hold the request until released); a
// 3xx carries `location`.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Received {
  headers: IncomingMessage['headers']
  body: string
  /** the status answered; null while held */
  status: number | null
}

export interface Receiver {
  url: string
  received: Received[]
  /** TCP connections accepted, whatever was sent on them */
  connections: number
  /** statuses answered first, in order */
  answers: number[]
  then: number | 'hang'
  /** the Location of a 3xx answer */
  location: string
  /** answers every held request with this status */
  release(status?: number): void
  close(): Promise<void>
}

export async function startReceiver(host = '127.0.0.1'): Promise<Receiver> {
  const held: { res: ServerResponse; entry: Received }[] = []
  const answer = (res: ServerResponse, entry: Received, status: number) => {
    entry.status = status
    const headers = status >= 300 && status < 400 ? { location: receiver.location } : {}
    res.writeHead(status, { 'content-type': 'text/plain', ...headers }).end(status < 300 ? 'ok' : 'no')
  }
  const receiver: Receiver = {
    url: '',
    received: [],
    connections: 0,
    answers: [],
    then: 200,
    location: '/',
    release(status = 200) {
      for (const { res, entry } of held.splice(0)) answer(res, entry, status)
    },
    close: async () => {
      receiver.release(503)
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const entry: Received = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status: null }
      receiver.received.push(entry)
      const status = receiver.answers.shift() ?? receiver.then
      if (status === 'hang') held.push({ res, entry })
      else answer(res, entry, status)
    })
  })
  server.on('connection', () => receiver.connections++)
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  receiver.url = `http://${host}:${(server.address() as AddressInfo).port}/hook`
  return receiver
}
