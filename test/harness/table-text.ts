/**
 * Our table as tests compare it, and entries put straight into its sets: what the suites that check a delta
 * against a full apply share.
 */
import type { Config } from '../../src/domain/types.js';
import { planConfig, sharedSetName } from '../../src/nft/plan.js';

/**
 * `nft list table` text with chains, sets and maps in name order (a delta adds chains at the end, a full apply
 * in plan order) and without expiry times (they run down between two listings).
 */
export function normaliseTable(text: string): string {
  const blocks: string[][] = [[]];
  for (const line of text.replace(/ expires \S+/g, '').split('\n')) {
    if (/^\t(chain|set|map) /.test(line)) blocks.push([]);
    if (line.trim() !== '' && line !== '}') blocks.at(-1)!.push(line);
  }
  const [head, ...rest] = blocks.map((b) => b.join('\n'));
  return [head, ...rest.sort()].join('\n');
}

/**
 * An open entry of rule `name` (remote any, IPv4) held by `holder`, put straight into the shared sets with `nft`.
 * @example await putEntry((args) => run('nft', args), config, 'game', '192.168.1.10')
 */
export async function putEntry(
  nft: (args: string[]) => Promise<unknown>,
  config: Config,
  name: string,
  holder: string,
): Promise<void> {
  const id = planConfig(config).rules.find((r) => r.rule.name === name && r.family === 'ipv4')!.id;
  const add = (set: string, element: string) =>
    nft(['add', 'element', 'inet', 'porttrigger', set, `{ ${element} }`]);
  await add(sharedSetName('target', 'ipv4', id)!, `${id} timeout 600s expires 500s : ${holder}`);
  await add('hold4', `${id} . ${holder} timeout 600s expires 500s`);
  await add('held4', `${id} timeout 600s expires 500s`);
}
