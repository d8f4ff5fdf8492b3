// Background traffic of a device, for the learn-mode corpus: a DNS query and a web fetch every interval.
// Arguments: the resolver and web server's address, the interval in ms, at most how many rounds.
import { Resolver } from 'node:dns/promises';
import { setTimeout as delay } from 'node:timers/promises';

const [server, everyText, roundsText] = process.argv.slice(2);
const every = Number(everyText);
const rounds = Number(roundsText);
const resolver = new Resolver({ timeout: 500, tries: 1 });
resolver.setServers([server]);
for (let i = 0; i < rounds; i++) {
  await resolver.resolve4(`host${i}.example.test`).catch(() => undefined);
  await fetch(`http://${server}/`, { signal: AbortSignal.timeout(1_000) })
    .then((r) => r.text())
    .catch(() => undefined);
  await delay(every);
}
