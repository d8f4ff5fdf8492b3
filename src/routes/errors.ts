/**
 * The one place where error codes become HTTP statuses, and the one shape of an error response:
 * `{ error: { code, message, issues? } }`.
 */
import { type ApiErrorCode, isApiErrorCode } from '../domain/error-codes.js';
import { InvalidInputError, type Issue, PorttriggerError } from '../domain/errors.js';

/** HTTP statuses the API answers errors with. */
export type ErrorStatus = 400 | 401 | 404 | 409 | 413 | 415 | 421 | 429 | 500 | 502 | 503;

/**
 * The status of every code an API answer can carry; typed so that a new one does not compile until it has one.
 * Codes that stay inside the CLI, the lab or the doctor have no row: should one reach {@link errorResponse} it is
 * a bug, answered as INTERNAL.
 */
export const STATUS_BY_CODE: Readonly<Record<ApiErrorCode, ErrorStatus>> = {
  INVALID_INPUT: 400,
  INVALID_CONFIG: 400,
  // The service's own config file is gone or unreadable: the fault is on the gateway, not in the request.
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
  // nft or a program it needs refused or hung: the gateway's own upstream (the kernel) said no.
  NFT_TIMEOUT: 502,
  NFT_REJECTED: 502,
  NFT_LIST_FAILED: 502,
  EXEC_EXIT: 502,
  EXEC_TIMEOUT: 502,
  NFT_MISSING: 503,
  EXEC_MISSING: 503,
  EXEC_FAILED: 503,
  INTERNAL: 500,
};

/** The JSON body of every error response. */
export interface ErrorBody {
  readonly error: {
    readonly code: ApiErrorCode;
    readonly message: string;
    readonly issues?: readonly Issue[];
  };
}

/**
 * The status and body for any thrown value; unknown errors, and codes no API answer carries, are 500 INTERNAL
 * without their details.
 */
export function errorResponse(error: unknown): { status: ErrorStatus; body: ErrorBody } {
  if (error instanceof PorttriggerError && isApiErrorCode(error.code)) {
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
