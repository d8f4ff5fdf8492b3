import { describe, expect, it } from 'vitest';
import { ExecError } from '../adapters/exec.js';
import { NftError } from '../adapters/nft.js';
import { ERROR_CODES } from '../domain/error-codes.js';
import { InvalidInputError, PorttriggerError } from '../domain/errors.js';
import { ApiError } from './api-client.js';
import { EXIT_CODE_BY_ERROR, EXIT_CODES, exitCodeFor, ReportedFailure, UsageError } from './exit-codes.js';

describe('exitCodeFor', () => {
  it.each([
    ['a usage error', new UsageError('bad'), 2],
    ['invalid input', new InvalidInputError('bad', []), 3],
    ['an invalid config already reported', new ReportedFailure('INVALID_CONFIG', 'bad'), 3],
    ['a missing rule', new PorttriggerError('RULE_NOT_FOUND', 'x'), 3],
    ['a missing preset', new PorttriggerError('PRESET_NOT_FOUND', 'x'), 3],
    ['a taken name reported by the API', new ApiError('RULE_EXISTS', 'x', 409), 3],
    ['a file edited by hand reported by the API', new ApiError('CONFIG_FILE_CHANGED', 'x', 409), 3],
    ['an API 404', new ApiError('NOT_FOUND', 'x', 404), 3],
    ['an unreachable service', new ApiError('API_UNREACHABLE', 'x'), 4],
    ['a refused token', new ApiError('UNAUTHORIZED', 'x', 401), 4],
    ['an unreadable token file', new ApiError('TOKEN_MISSING', 'x'), 4],
    ['nft refusing a script', new NftError('NFT_REJECTED', 'x'), 5],
    ['nft missing', new NftError('NFT_MISSING', 'x'), 5],
    ['nft timing out', new NftError('NFT_TIMEOUT', 'x'), 5],
    ['a kernel error reported by the API', new ApiError('NFT_LIST_FAILED', 'x', 502), 5],
    ['ip failing', new ExecError('x', 'ip', [], 1, ''), 5],
    ['ip timing out', new ExecError('x', 'ip', [], null, '', { timedOut: true }), 5],
    ['namespaces failing', new PorttriggerError('NETNS_FAILED', 'x'), 5],
    ['missing programs', new PorttriggerError('PREREQUISITES_MISSING', 'x'), 5],
    ['not root', new PorttriggerError('NOT_ROOT', 'x'), 1],
    ['an interrupted lab', new PorttriggerError('ABORTED', 'x'), 1],
    ['a failed doctor check', new ReportedFailure('DOCTOR_FAILED', 'x'), 1],
    ['a plain error', new Error('boom'), 1],
    ['a thrown string', 'boom', 1],
  ])('maps %s to %i', (_what, error, code) => {
    expect(exitCodeFor(error)).toBe(code);
  });

  it('gives every error code one of the documented exit codes', () => {
    expect(Object.values(EXIT_CODES)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(Object.keys(EXIT_CODE_BY_ERROR).sort()).toEqual([...ERROR_CODES].sort());
    for (const code of ERROR_CODES) expect([1, 2, 3, 4, 5]).toContain(EXIT_CODE_BY_ERROR[code]);
  });
});
