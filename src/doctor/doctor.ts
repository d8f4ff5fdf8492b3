/**
 * `porttrigger doctor`: checks that the gateway can run porttrigger and that nothing around it undoes its work.
 * This file gathers the input (nft through the nft runner, `ip` and the sysctls through the process runner it is
 * handed, optionally inside a network namespace); checks.ts judges it, src/nft/ruleset-analysis.ts reads rulesets.
 */
import { ExecError, NftError, type NftRunner, type ProgramRunner } from '../domain/programs.js';
import type { Config } from '../domain/types.js';
import { TABLE_NAME } from '../domain/types.js';
import { kernelFeatureScript } from '../nft/feature-probe.js';
import { ruleTextsByHandle, tablesWithXt, type XtTranslations } from '../nft/forward-decision.js';
import {
  check,
  conntrackCheck,
  type DoctorCheck,
  forwardingCheck,
  forwardPolicyCheck,
  interfacesCheck,
  nftVersionCheck,
  setReaderCheck,
  staticDnatCheck,
} from './checks.js';
import { apiListenCheck, wanAddressCheck } from './wan-checks.js';
import { HINTS, KERNEL_OK } from './wording.js';

/** The check types, re-exported for the command that prints them. */
export type { CheckStatus, DoctorCheck } from './checks.js';
/** The config check, which the command runs on the file it reads. */
export { configCheck } from './checks.js';

/** Options for {@link runDoctor}. */
export interface DoctorOptions {
  /** Check inside this network namespace (the lab and the tests run the doctor in their router). */
  readonly netns?: string;
  /** The config to check interfaces and open ports against; without it those checks are left out. */
  readonly config?: Config;
  /** Runs nft (in `netns` when given), with timeouts of {@link DOCTOR_NFT_TIMEOUT_MS}. */
  readonly nft: NftRunner;
  /** Runs `ip`, `conntrack`, `cat` for the sysctls, and the set reader. */
  readonly run: ProgramRunner;
  /** The set reader to try on our table (false: the build made none); without it that check is left out. */
  readonly setReader?: string | false;
}

/** The set reader's exit status when our table does not exist (native/set-reader/set-reader.c). */
const SET_READER_NO_TABLE = 3;

/**
 * How long each of the doctor's nft calls (version, feature probe, ruleset listing) may take: someone waits for
 * the answer (a terminal, the panel) and the probes are tiny, so a hung nft is a failed check within seconds.
 */
export const DOCTOR_NFT_TIMEOUT_MS = 10_000;

/** The text of a failure: the program's own words (stderr) where there are some. */
function failureText(error: unknown): string {
  const exec = error instanceof ExecError ? error : error instanceof NftError ? error.cause : undefined;
  if (exec instanceof ExecError) {
    return (exec.stderr.trim().split('\n').slice(0, 4).join(' ') || exec.message).trim();
  }
  return error instanceof Error ? error.message : String(error);
}

async function readSysctl(
  run: ProgramRunner,
  path: string,
  netns: string | undefined,
): Promise<string | undefined> {
  try {
    // /proc/sys/net shows the namespace of the reading process: read it from inside the namespace.
    return (await run('cat', [path], { ...(netns ? { netns } : {}), timeoutMs: 10_000 })).stdout;
  } catch {
    return undefined;
  }
}

/**
 * nft's text of the iptables-nft tables (ufw, Docker), whose matches JSON leaves opaque: `nft -a list table`
 * prints them translated (`ct state`, `ct status dnat`). A table that cannot be listed stays opaque.
 */
async function translateXt(
  run: ProgramRunner,
  ruleset: unknown,
  netns: string | undefined,
): Promise<XtTranslations> {
  const out = new Map<string, Map<number, string>>();
  for (const table of tablesWithXt(ruleset)) {
    const [family = '', name = ''] = table.split(' ');
    try {
      const { stdout } = await run('nft', ['-a', 'list', 'table', family, name], {
        ...(netns ? { netns } : {}),
        timeoutMs: DOCTOR_NFT_TIMEOUT_MS,
      });
      out.set(table, ruleTextsByHandle(stdout));
    } catch {
      // Left opaque: the finding says that some rules could not be read.
    }
  }
  return out;
}

/**
 * Runs every check. Never throws for a failed check: each comes back with its status and a hint.
 * @example const checks = await runDoctor({ config, nft, run: runProgram }); checks.some((c) => c.status === 'fail')
 */
export async function runDoctor(options: DoctorOptions): Promise<DoctorCheck[]> {
  const { nft, run } = options;
  const checks: DoctorCheck[] = [];

  let nftPresent = true;
  try {
    checks.push(nftVersionCheck(await nft.version()));
  } catch (error) {
    nftPresent = !(error instanceof NftError && error.code === 'NFT_MISSING');
    checks.push(
      check(
        'nft',
        'fail',
        nftPresent ? `nft --version failed: ${failureText(error)}` : 'nft is not installed',
        HINTS.nftMissing,
      ),
    );
  }

  if (nftPresent) {
    try {
      await nft.check(kernelFeatureScript());
      checks.push(check('kernel', 'ok', KERNEL_OK));
    } catch (error) {
      const text = failureText(error);
      checks.push(
        check(
          'kernel',
          'fail',
          `nft -c refused a scratch table: ${text}`,
          /Operation not permitted|EPERM/i.test(text) ? HINTS.notRoot : HINTS.kernelModules,
        ),
      );
    }
  }

  const [v4, v6] = await Promise.all([
    readSysctl(run, '/proc/sys/net/ipv4/ip_forward', options.netns),
    readSysctl(run, '/proc/sys/net/ipv6/conf/all/forwarding', options.netns),
  ]);
  checks.push(forwardingCheck(v4, v6, options.config));

  const conntrack = await run('conntrack', ['--version'], { timeoutMs: 10_000 }).then(
    ({ stdout, stderr }) => `${stdout}${stderr}`,
    (error: unknown) => (error instanceof ExecError && error.code === 'EXEC_MISSING' ? undefined : null),
  );
  checks.push(conntrackCheck(conntrack));

  const reader = options.setReader;
  if (reader !== undefined) {
    const outcome =
      reader === false
        ? ('missing' as const)
        : await run(reader, ['inet', TABLE_NAME], {
            ...(options.netns ? { netns: options.netns } : {}),
            timeoutMs: 10_000,
          }).then(
            () => 'ok' as const,
            (error: unknown) =>
              error instanceof ExecError && error.exitCode === SET_READER_NO_TABLE
                ? ('ok' as const)
                : { error: failureText(error) },
          );
    checks.push(setReaderCheck(outcome));
  }

  if (options.config) {
    try {
      const ns = options.netns ? { netns: options.netns } : {};
      const { stdout } = await run('ip', ['-j', 'link', 'show'], { ...ns, timeoutMs: 10_000 });
      checks.push(interfacesCheck(JSON.parse(stdout) as unknown, options.config));
    } catch (error) {
      checks.push(check('interfaces', 'warn', `cannot list interfaces: ${failureText(error)}`));
    }
  }

  if (options.config) {
    try {
      const ns = options.netns ? { netns: options.netns } : {};
      const { stdout } = await run('ip', ['-j', 'addr', 'show'], { ...ns, timeoutMs: 10_000 });
      const addresses = JSON.parse(stdout) as unknown;
      checks.push(wanAddressCheck(addresses, options.config), apiListenCheck(addresses, options.config));
    } catch (error) {
      checks.push(check('wan-address', 'warn', `cannot list addresses: ${failureText(error)}`));
    }
  }

  if (nftPresent) {
    try {
      const ruleset = await nft.listJson(['list', 'ruleset']);
      const translations = await translateXt(run, ruleset, options.netns);
      checks.push(forwardPolicyCheck(ruleset, options.config, translations));
      if (options.config) checks.push(staticDnatCheck(ruleset, options.config));
    } catch (error) {
      checks.push(
        check('forward-policy', 'warn', `cannot list the ruleset: ${failureText(error)}`, HINTS.listRuleset),
      );
    }
  }
  return checks;
}
