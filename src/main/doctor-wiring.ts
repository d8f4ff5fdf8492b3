/** Wires the doctor: the nft runner with the doctor's short timeouts and the process runner, in a namespace. */
import { runProgram } from '../adapters/exec.js';
import { createNftRunner } from '../adapters/nft.js';
import { builtSetReaderPath } from '../adapters/set-reader.js';
import { DOCTOR_NFT_TIMEOUT_MS, type DoctorCheck, runDoctor } from '../doctor/doctor.js';
import type { Config } from '../domain/types.js';

/** What the doctor looks at: the machine, or a namespace of it, against an optional config. */
export interface DoctorRequest {
  readonly netns?: string;
  readonly config?: Config;
}

/**
 * Runs the doctor on this machine (or inside `netns`) with the real nft and programs.
 * @example const checks = await doctorOnThisMachine({ config });
 */
export function doctorOnThisMachine(request: DoctorRequest = {}): Promise<DoctorCheck[]> {
  const ns = request.netns ? { netns: request.netns } : {};
  return runDoctor({
    ...ns,
    ...(request.config ? { config: request.config } : {}),
    nft: createNftRunner({
      ...ns,
      listTimeoutMs: DOCTOR_NFT_TIMEOUT_MS,
      applyTimeoutMs: DOCTOR_NFT_TIMEOUT_MS,
    }),
    run: runProgram,
    setReader: builtSetReaderPath() ?? false,
  });
}
