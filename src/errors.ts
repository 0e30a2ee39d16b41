/** An error the API answers with its own status and a stable machine-readable code. */
export class AppError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: { path: string; message: string }[],
  ) {
    super(message)
    this.name = new.target.name
  }

  /** The answer's body: `{ error, message, details? }`. */
  toBody(): { error: string; message: string; details?: { path: string; message: string }[] } {
    return { error: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) }
  }
}

export class InvalidRequestError extends AppError {
  constructor(message: string, details: { path: string; message: string }[] = []) {
    super(400, 'invalid_request', message, details)
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = 'a valid API key is required') {
    super(401, 'unauthorized', message)
  }
}

export class NotFoundError extends AppError {
  constructor(message: string) {
    super(404, 'not_found', message)
  }
}

export class ConflictError extends AppError {
  constructor(code: string, message: string) {
    super(409, code, message)
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(code: string, message: string) {
    super(413, code, message)
  }
}

export class RateLimitedError extends AppError {
  constructor(message: string) {
    super(429, 'rate_limited', message)
  }
}

/** Redis cannot be reached: nothing was written, the caller may retry. */
export class UnavailableError extends AppError {
  readonly retryAfterSeconds = 5
  constructor(message = 'the task store is unreachable, retry later') {
    super(503, 'unavailable', message)
  }
}
