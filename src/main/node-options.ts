/**
 * The V8 options the service's process starts with. Every place that starts the service for real passes them to
 * `node`: the systemd unit's ExecStart (contrib/porttrigger.service), `npm run lab` (package.json) and the
 * bench's service (bench/lib/service.ts); node-options.test.ts keeps the first two in step with this list. They
 * size the heap when the process starts, so the running code cannot set them itself.
 *
 * `--max-semi-space-size=2`: V8 grows each of the young generation's two semi-spaces up to 16 MB while start-up
 * allocates (compiling and applying the config), and keeps them at rest. Capped at 2 MB, a service with 1,000
 * rules rests lower, a change costs about the same CPU, and the heap's memory reducer finds the allocation
 * rate low once the service rests, so it compacts start-up's garbage soon after start-up (14-70 s, measured)
 * instead of 100 s after the last full collection, in the middle of rest. Measured, with the options that were rejected: docs/architecture.md,
 * "Runtime options".
 */
export const SERVICE_NODE_OPTIONS: readonly string[] = ['--max-semi-space-size=2'];
