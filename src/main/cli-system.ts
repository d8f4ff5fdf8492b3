/** Wires what the CLI's commands need to this machine: the logger, the service host, the doctor and the lab. */
import { runProgram } from '../adapters/exec.js';
import { createLogger } from '../adapters/logger.js';
import type { CliSystem } from '../cli/context.js';
import { missingLabPrerequisites, startLab } from '../lab/lab.js';
import { doctorOnThisMachine } from './doctor-wiring.js';
import { startServiceHost } from './service-host.js';

/**
 * The real system for `porttrigger`: programs run with `runProgram`, nft with the nft runner.
 * @example const code = await runCli(argv, { ...context, system: createCliSystem() });
 */
export function createCliSystem(): CliSystem {
  return {
    createLogger: ({ level, sink }) => createLogger({ level, sink }),
    startServiceHost,
    doctor: doctorOnThisMachine,
    missingLabPrerequisites: (isRoot) => missingLabPrerequisites(runProgram, isRoot),
    startLab: (options) => startLab({ ...options, run: runProgram }),
  };
}
