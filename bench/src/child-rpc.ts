import { type ChildProcess, fork } from 'node:child_process';

/**
 * Request/answer over the IPC channel of a forked bench child (the load generators, the baseline
 * consumers). Messages use Node's `advanced` serialization, so latency arrays travel as typed
 * arrays instead of JSON text. A child may also send progress lines (`rpcLog`), which the parent
 * hands to its `onLog`.
 *
 * A child is: starting → ready (it said so) → stopped (it exited). A call to a child that exits
 * is rejected with its exit code; a child whose parent goes away exits.
 */

interface Request {
  id: number;
  cmd: string;
  args: unknown;
}

type Answer = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

export type RpcHandlers = Record<string, (args: never) => unknown>;

export class RpcChild {
  #next = 0;
  readonly #pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (err: Error) => void }
  >();
  readonly exited: Promise<number | null>;

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
    onLog: (line: string) => void,
  ) {
    child.on('message', (message: Answer | { ready: true } | { log: string }) => {
      if ('ready' in message) return;
      if ('log' in message) {
        onLog(message.log);
        return;
      }
      const waiter = this.#pending.get(message.id);
      if (!waiter) return;
      this.#pending.delete(message.id);
      if (message.ok) waiter.resolve(message.result);
      else waiter.reject(new Error(`${name}: ${message.error}`));
    });
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        for (const waiter of this.#pending.values()) {
          waiter.reject(new Error(`${name} exited (code ${code}, signal ${signal})`));
        }
        this.#pending.clear();
        resolve(code);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Forks `script` and resolves once it has said it is ready. */
  static async start(
    name: string,
    script: string,
    options: { env?: NodeJS.ProcessEnv; execArgv?: string[]; onLog?: (line: string) => void } = {},
  ): Promise<RpcChild> {
    const child = fork(script, [], {
      env: options.env ?? process.env,
      execArgv: options.execArgv ?? [],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const rpc = new RpcChild(name, child, options.onLog ?? (() => {}));
    await new Promise<void>((resolve, reject) => {
      const onMessage = (message: unknown) => {
        if ((message as { ready?: boolean })?.ready) {
          child.off('message', onMessage);
          resolve();
        }
      };
      child.on('message', onMessage);
      child.once('exit', (code) => reject(new Error(`${name} exited while starting (${code})`)));
    });
    return rpc;
  }

  call<T>(cmd: string, args: unknown = {}): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.child.send({ id, cmd, args } satisfies Request);
    });
  }

  /** Asks the child to exit, then makes sure it did. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** The child side: a progress line for the parent's `onLog`. */
export function rpcLog(line: string): void {
  process.send?.({ log: line });
}

/** The child side: answers requests with `handlers`, says it is ready, exits with its parent. */
export function serveRpc(handlers: RpcHandlers, onStop?: () => Promise<void>): void {
  const send = (answer: Answer) => process.send?.(answer);
  process.on('message', async (message: Request) => {
    const handler = handlers[message.cmd] as ((args: unknown) => unknown) | undefined;
    if (!handler) {
      send({ id: message.id, ok: false, error: `unknown command ${message.cmd}` });
      return;
    }
    try {
      send({ id: message.id, ok: true, result: await handler(message.args) });
    } catch (err) {
      send({
        id: message.id,
        ok: false,
        error: err instanceof Error ? (err.stack ?? err.message) : String(err),
      });
    }
  });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    (onStop?.() ?? Promise.resolve()).finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('disconnect', stop);
  process.send?.({ ready: true });
}
