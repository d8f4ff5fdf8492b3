import { type ChildProcess, fork } from 'node:child_process';
import type dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import type { BenchContext } from './context.js';
import type { HelperRequest, HelperResponse, RunTimes } from './ns-helper.js';

type Pending = {
  resolve: (r: { message: HelperResponse; handle: unknown }) => void;
  reject: (e: Error) => void;
};

type RequestBody = HelperRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** The parent side of one ns-helper: sockets and program runs inside its namespace. */
export class NamespaceHelper {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, Pending>();
  #next = 1;
  readonly ready: Promise<void>;

  private constructor(
    readonly netns: string,
    child: ChildProcess,
  ) {
    this.#child = child;
    this.ready = new Promise((resolve, reject) => {
      this.#pending.set(0, { resolve: () => resolve(), reject });
    });
    child.on('message', (message: HelperResponse, handle: unknown) => {
      const call = this.#pending.get(message.id);
      if (!call) return;
      this.#pending.delete(message.id);
      call.resolve({ message, handle });
    });
    child.once('exit', (code, signal) => {
      const error = new Error(`helper in ${netns} exited (${signal ?? code})`);
      for (const call of this.#pending.values()) call.reject(error);
      this.#pending.clear();
    });
  }

  /** Starts a helper in a namespace; it is stopped at the context's cleanup. */
  static async start(ctx: BenchContext, netns: string): Promise<NamespaceHelper> {
    const module = fileURLToPath(new URL('./ns-helper.js', import.meta.url));
    const child = fork(module, [], {
      execPath: 'ip',
      execArgv: ['netns', 'exec', netns, process.execPath],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const helper = new NamespaceHelper(netns, child);
    helper.stop = ctx.track(child, `helper in ${netns}`);
    await helper.ready;
    return helper;
  }

  /** Stops the helper (replaced by the context's tracked stop). */
  stop: () => Promise<void> = async () => undefined;

  #call(body: RequestBody): Promise<{ message: HelperResponse; handle: unknown }> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#child.send({ ...body, id });
    });
  }

  /** A UDP socket bound in the helper's namespace (port 0: any free port), now owned by this process. */
  async udp(port = 0): Promise<dgram.Socket> {
    const { message, handle } = await this.#call({ op: 'udp', port });
    if (!message.ok) throw new Error(`udp socket in ${this.netns}: ${message.error}`);
    if (!handle) throw new Error(`udp socket in ${this.netns}: no handle received`);
    return handle as dgram.Socket;
  }

  /** Runs a program in the helper's namespace; start and end are on process.hrtime's clock. */
  async run(
    program: string,
    args: readonly string[],
  ): Promise<{ startNs: bigint; endNs: bigint; code: number | null; stdout: string }> {
    const { message } = await this.#call({ op: 'run', program, args });
    if (!message.ok) throw new Error(`${program} in ${this.netns}: ${message.error}`);
    const run = message.run as RunTimes;
    return { startNs: BigInt(run.startNs), endNs: BigInt(run.endNs), code: run.code, stdout: run.stdout };
  }
}
