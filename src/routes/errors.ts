/**
 * The one place where error codes become HTTP statuses, and the one shape of an error response:
 * `{ error: { code, message, issues? } }`.
 */
import type { ErrorCode } from '../domain/error-codes.js';
import { InvalidInputError, type Issue, PorttriggerError } from '../domain/errors.js';

/** HTTP statuses the API answers errors with. */
export type ErrorStatus = 400 | 401 | 404 | 409 | 413 | 415 | 421 | 429 | 500 | 502 | 503;

/**
 * The status of every error code; typed so that a new code does not compile until it has one. Codes only the
 * CLI or the lab throw are 500 here: reaching the API with one is a bug.
 */
export const STATUS_BY_CODE: Readonly<Record<ErrorCode, ErrorStatus>> = {
  USAGE: 500,
  INVALID_INPUT: 400,
  INVALID_CONFIG: 400,
  CONFIG_NOT_FOUND: 500,
  CONFIG_READ_FAILED: 500,
  CONFIG_WRITE_FAILED: 500,
  CONFIG_FILE_CHANGED: 409,
  RULE_NOT_FOUND: 404,
  RULE_EXISTS: 409,
  PRESET_NOT_FOUND: 404,
  LEARN_ACTIVE: 409,
  LEARN_NOT_FOUND: 404,
  LEARN_UNAVAILABLE: 503,
  NOT_FOUND: 404,
  UNAUTHORIZED: 401,
  TOO_MANY_ATTEMPTS: 429,
  FOREIGN_HOST: 421,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  SERVICE_STOPPED: 503,
  EVENT_STORE_FAILED: 503,
  // The kernel refused or nft failed: the upstream of this gateway said no.
  NFT_TIMEOUT: 502,
  NFT_REJECTED: 502,
  NFT_LIST_FAILED: 502,
  EXEC_EXIT: 502,
  EXEC_TIMEOUT: 502,
  NFT_MISSING: 503,
  EXEC_MISSING: 503,
  EXEC_FAILED: 503,
  NETNS_FAILED: 500,
  PREREQUISITES_MISSING: 500,
  NOT_ROOT: 500,
  PROBE_FAILED: 500,
  LAB_FAILED: 500,
  ABORTED: 500,
  DOCTOR_FAILED: 500,
  TOKEN_FAILED: 500,
  TOKEN_TOO_SHORT: 500,
  TOKEN_MISSING: 500,
  API_LISTEN_FAILED: 500,
  API_UNREACHABLE: 500,
  API_FAILED: 500,
  INTERNAL: 500,
};

/** The JSON body of every error response. */
export interface ErrorBody {
  readonly error: { readonly code: ErrorCode; readonly message: string; readonly issues?: readonly Issue[] };
}

/** The status and body for any thrown value; unknown errors are 500 INTERNAL without their details. */
export function errorResponse(error: unknown): { status: ErrorStatus; body: ErrorBody } {
  if (error instanceof PorttriggerError) {
    const issues = error instanceof InvalidInputError ? { issues: error.issues } : {};
    return {
      status: STATUS_BY_CODE[error.code],
      body: { error: { code: error.code, message: error.message, ...issues } },
    };
  }
  return {
    status: 500,
    body: { error: { code: 'INTERNAL', message: 'internal error (see the service log)' } },
  };
}
