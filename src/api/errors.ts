/**
 * The one place where error codes become HTTP statuses, and the one shape of an error response:
 * `{ error: { code, message, issues? } }`.
 */
import { InvalidInputError, type Issue, PorttriggerError } from '../domain/errors.js';

/** HTTP statuses the API answers errors with. */
export type ErrorStatus = 400 | 401 | 404 | 409 | 413 | 415 | 500 | 502 | 503;

const STATUS_BY_CODE: Readonly<Record<string, ErrorStatus>> = {
  INVALID_INPUT: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  RULE_NOT_FOUND: 404,
  RULE_EXISTS: 409,
  CONFIG_FILE_CHANGED: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  // The kernel refused or nft failed: the upstream of this gateway said no.
  NFT_REJECTED: 502,
  NFT_FAILED: 502,
  EXEC_EXIT: 502,
  NFT_MISSING: 503,
  EXEC_FAILED: 503,
  EVENT_STORE_FAILED: 503,
  SERVICE_STOPPED: 503,
};

/** The JSON body of every error response. */
export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly issues?: readonly Issue[] };
}

/** The status and body for any thrown value; unknown errors are 500 INTERNAL without their details. */
export function errorResponse(error: unknown): { status: ErrorStatus; body: ErrorBody } {
  if (error instanceof PorttriggerError) {
    const issues = error instanceof InvalidInputError ? { issues: error.issues } : {};
    return {
      status: STATUS_BY_CODE[error.code] ?? 500,
      body: { error: { code: error.code, message: error.message, ...issues } },
    };
  }
  return {
    status: 500,
    body: { error: { code: 'INTERNAL', message: 'internal error (see the service log)' } },
  };
}
