/**
 * Wires what the CLI's commands need to this machine: the logger, the service host, the doctor and the lab.
 * The doctor and the lab load when a command asks for them, so `porttrigger run` (the service) holds neither.
 */
import { runProgram } from '../adapters/exec.js';
import { createLogger } from '../adapters/logger.js';
import type { CliSystem } from '../cli/context.js';
import { startServiceHost } from './service-host.js';

/**
 * The real system for `porttrigger`: programs run with `runProgram`, nft with the nft runner.
 * @example const code = await runCli(argv, { ...context, system: createCliSystem() });
 */
export function createCliSystem(): CliSystem {
  return {
    createLogger: ({ level, sink }) => createLogger({ level, sink }),
    startServiceHost,
    doctor: async (request) => (await import('./doctor-wiring.js')).doctorOnThisMachine(request),
    missingLabPrerequisites: async (isRoot) =>
      (await import('../lab/lab.js')).missingLabPrerequisites(runProgram, isRoot),
    startLab: async (options) => (await import('../lab/lab.js')).startLab({ ...options, run: runProgram }),
  };
}
