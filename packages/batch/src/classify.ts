/**
 * The default failure classifier.
 *
 * @module
 */
import { isTimeoutError } from './errors.js';
import type { Classification } from './options.js';

/** Error codes of Node's net/dns layer and of undici (`fetch`) that a retry can fix. */
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/** HTTP statuses that mean "try again later" when an error carries one. */
const TRANSIENT_STATUSES = new Set([408, 425, 429, 500, 502, 503, 504]);

/**
 * The classifier used when `options.classify` is not given: timeouts, common network errors
 * (`ECONNRESET`, `ECONNREFUSED`, `EAI_AGAIN`, undici socket errors, … anywhere in the `cause`
 * chain) and errors carrying an HTTP status of 408, 425, 429, 500, 502, 503 or 504 are
 * `'transient'`; everything else — a 404, a parse error, a programming error — is `'fatal'` for
 * the item (whether it makes the batch fatal depends on the item's importance).
 *
 * **When to use:** call it from your own classifier for the cases you do not special-case.
 *
 * @example
 * ```ts
 * const classify = (e: unknown) => (isNotFound(e) ? 'skip' : defaultClassify(e));
 * ```
 */
export function defaultClassify(error: unknown): Classification {
  if (isTimeoutError(error)) return 'transient';
  try {
    for (
      let e: unknown = error, depth = 0;
      e !== null && typeof e === 'object' && depth < 5;
      depth += 1
    ) {
      const { code, status, statusCode, name } = e as Record<string, unknown>;
      if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return 'transient';
      const httpStatus = typeof status === 'number' ? status : statusCode;
      if (typeof httpStatus === 'number' && TRANSIENT_STATUSES.has(httpStatus)) return 'transient';
      if (name === 'TimeoutError') return 'transient';
      e = (e as { cause?: unknown }).cause;
    }
  } catch {
    // A getter that throws: nothing a retry is known to fix.
  }
  return 'fatal';
}
