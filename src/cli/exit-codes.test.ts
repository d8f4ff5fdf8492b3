import { describe, expect, it } from 'vitest';
import { ExecError } from '../adapters/exec.js';
import { NftError } from '../adapters/nft.js';
import { InvalidInputError, PorttriggerError } from '../domain/errors.js';
import { ApiError } from './api-client.js';
import { EXIT_CODES, exitCodeFor, ReportedFailure, UsageError } from './exit-codes.js';

describe('exitCodeFor', () => {
  it.each([
    ['a usage error', new UsageError('bad'), 2],
    ['invalid input', new InvalidInputError('bad', []), 3],
    ['an invalid config already reported', new ReportedFailure('INVALID_CONFIG', 'bad'), 3],
    ['a missing rule', new PorttriggerError('RULE_NOT_FOUND', 'x'), 3],
    ['a missing preset', new PorttriggerError('PRESET_NOT_FOUND', 'x'), 3],
    ['an API 404', new ApiError('NOT_FOUND', 'x', 404), 3],
    ['an unreachable service', new ApiError('API_UNREACHABLE', 'x'), 4],
    ['a refused token', new ApiError('API_UNAUTHORIZED', 'x', 401), 4],
    ['an unreadable token file', new ApiError('TOKEN_MISSING', 'x'), 4],
    ['nft refusing a script', new NftError('NFT_REJECTED', 'x'), 5],
    ['nft missing', new NftError('NFT_MISSING', 'x'), 5],
    ['a kernel error reported by the API (lower case)', new ApiError('nft_failed', 'x', 502), 5],
    ['ip failing', new ExecError('x', 'ip', [], 1, ''), 5],
    ['namespaces failing', new PorttriggerError('NETNS_FAILED', 'x'), 5],
    ['a failed doctor check', new ReportedFailure('DOCTOR_FAILED', 'x'), 1],
    ['an unknown code', new PorttriggerError('SOMETHING_ELSE', 'x'), 1],
    ['a plain error', new Error('boom'), 1],
    ['a thrown string', 'boom', 1],
  ])('maps %s to %i', (_what, error, code) => {
    expect(exitCodeFor(error)).toBe(code);
  });

  it('uses only the documented codes', () => {
    expect(Object.values(EXIT_CODES)).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
