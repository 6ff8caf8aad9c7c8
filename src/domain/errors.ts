// Typed errors of the domain. One handler in src/http maps them to RFC 9457 problem details;
// nothing else decides an HTTP status.

export interface FieldError {
  path: string;
  message: string;
}

export abstract class DomainError extends Error {
  abstract readonly status: number;
  abstract readonly title: string;
  readonly errors?: FieldError[];
  constructor(message: string, errors?: FieldError[]) {
    super(message);
    this.name = new.target.name;
    if (errors) this.errors = errors;
  }
}

/** 400: the request is malformed or a value is of the wrong type. */
export class InvalidRequestError extends DomainError {
  readonly status = 400;
  readonly title = 'Bad Request';
}
/** 404: no such resource for this tenant (also answered for another tenant's resource). */
export class NotFoundError extends DomainError {
  readonly status = 404;
  readonly title = 'Not Found';
  constructor(kind: string, id: string) {
    super(`${kind} ${id} not found`);
  }
}
/** 409: the resource's state forbids the operation. */
export class ConflictError extends DomainError {
  readonly status = 409;
  readonly title = 'Conflict';
}
/** 413: an upload or table beyond the configured size limits. */
export class TooLargeError extends DomainError {
  readonly status = 413;
  readonly title = 'Payload Too Large';

  /** An upload past its limit of maxBytes bytes. */
  static upload(maxBytes: number): TooLargeError {
    return new TooLargeError(`The upload is larger than the limit of ${maxBytes} bytes`);
  }
}
/** 422: well-formed but impossible (unknown target column, model too large, a file that is no table). */
export class UnprocessableError extends DomainError {
  readonly status = 422;
  readonly title = 'Unprocessable Content';
}
/** 429: too many requests or too many active jobs for this tenant. */
export class TooManyRequestsError extends DomainError {
  readonly status = 429;
  readonly title = 'Too Many Requests';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}
/** 503: a dependency (Redis) is unreachable; the client should retry. */
export class UnavailableError extends DomainError {
  readonly status = 503;
  readonly title = 'Service Unavailable';
  constructor(
    message: string,
    readonly retryAfterSeconds = 5,
  ) {
    super(message);
  }
}

/**
 * A dependency (Redis, the job queue) gave no answer or refused to serve for now (loading, out of
 * memory). Only the storage and queue adapters throw it, deciding from the failure's type (see
 * src/storage/redis.ts); the HTTP layer answers 503 with Retry-After and never shows the message.
 * `message` and `code` are the underlying error's, so libraries that compare them keep working;
 * `cause` is the original error.
 */
export class DependencyUnavailableError extends Error {
  readonly code?: string;
  constructor(
    readonly dependency: 'redis' | 'queue',
    cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : `${dependency} is unavailable`, { cause });
    this.name = 'DependencyUnavailableError';
    const code = (cause as { code?: unknown } | null)?.code;
    if (typeof code === 'string') this.code = code;
  }
}
