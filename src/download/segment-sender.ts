// Puts one segment of a file on the wire: the partial file is opened at the
// segment's first missing byte while the request goes out, the request asks
// for that byte on (Range and If-Range, once the file has a record) with the
// caller's headers, and a SegmentReceiver takes the answer.
import type { Expected } from './answer-check.js'
import { FileSink } from './file-sink.js'
import type { Segment } from './resume-state.js'
import { SegmentReceiver, type SegmentContext } from './segment-receiver.js'
import type { DownloadRequest, Downloader } from './types.js'

export class SegmentSender {
  /** host:port of the file's URL: where its connections go */
  readonly host: string
  private readonly origin: string
  private readonly path: string

  constructor(
    private readonly downloader: Downloader,
    private readonly req: DownloadRequest,
    private readonly shared: SegmentContext,
  ) {
    // Parsed once for all the file's requests.
    const { host, origin, pathname, search } = new URL(req.url)
    this.host = host
    this.origin = origin
    this.path = pathname + search
  }

  /** The receiver for the segment's missing bytes; `create`: the partial file starts empty. */
  receiver(segment: Segment, create: boolean, expect: Expected): SegmentReceiver {
    const from = segment.start + segment.done
    // Opened while the request is out; its failure is met when the answer needs it.
    const opening = FileSink.openAt(this.downloader.disk, this.downloader.batches, this.req.tmp, from, create)
    opening.catch(() => {})
    return new SegmentReceiver(this.shared, expect, segment, from, opening)
  }

  send(receiver: SegmentReceiver): void {
    // The caller's headers on every request, ranges included; Range and If-Range are never among them.
    const headers = { ...this.req.headers, ...receiver.headers() }
    this.downloader.dispatcher.dispatch({ origin: this.origin, path: this.path, method: 'GET', headers }, receiver)
  }
}
