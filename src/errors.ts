/**
 * Typed errors shared by every part. Each carries a stable machine-readable `code` and the HTTP
 * status it maps to, so the HTTP layer can turn any of them into a JSON response in one place.
 */
export class RepodError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details?: Record<string, unknown>;

  constructor(code: string, message: string, options: { status?: number; cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = options.status ?? 400;
    this.details = options.details;
  }
}

/** A package file that cannot be parsed: wrong magic, truncated, out-of-range offsets, bad tag types. */
export class InvalidPackageError extends RepodError {
  constructor(message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super('invalid_package', message, { status: 422, ...options });
  }
}

export class NotFoundError extends RepodError {
  constructor(message: string, code = 'not_found') {
    super(code, message, { status: 404 });
  }
}

export class ConflictError extends RepodError {
  constructor(message: string, code = 'conflict', details?: Record<string, unknown>) {
    super(code, message, { status: 409, details });
  }
}

/** A storage driver failure that is not the caller's fault. Names the driver; keeps the cause. */
export class StorageError extends RepodError {
  constructor(driver: string, message: string, cause?: unknown) {
    super('storage_error', `[storage] [${driver}] ${message}`, { status: 503, cause });
  }
}

/** A conditional write (create-only or compare-and-swap) lost: the object changed or already exists. */
export class PreconditionFailedError extends RepodError {
  constructor(key: string, cause?: unknown) {
    super('precondition_failed', `conditional write on ${key} lost`, { status: 409, cause });
  }
}
