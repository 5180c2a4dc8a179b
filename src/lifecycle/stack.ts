/**
 * The start/close stack of a role: every resource a role opens pushes how to close it, and the
 * stack closes them in reverse order of opening. A start that fails half-way closes what was
 * already open (`build`), so a failed start never leaves a port bound or a timer running and the
 * process can exit. `close()` is idempotent: a second call gets the first call's promise
 * (undici's dispatcher-base `close` works this way).
 * @module
 */

export type CloseFn = () => void | Promise<void>;

export class StackClosedError extends Error {
  readonly code = 'MERIDIAN_ERR_CLOSED';
}

export class ResourceStack {
  private readonly closers: { name: string; close: CloseFn }[] = [];
  private closing: Promise<void> | null = null;

  /** Whether close() has been called (resources pushed after it are closed at once). */
  get closed(): boolean {
    return this.closing !== null;
  }

  /** Names of the open resources, oldest first (for logs and tests). */
  get names(): string[] {
    return this.closers.map((c) => c.name);
  }

  /** Registers how to close a resource that is open now. */
  push(name: string, close: CloseFn): void {
    if (this.closing) {
      // Opened while the role was closing (a late async start): close it rather than leak it.
      void Promise.resolve()
        .then(close)
        .catch(() => undefined);
      throw new StackClosedError(`${name} was opened after its role closed`);
    }
    this.closers.push({ name, close });
  }

  /** Opens a resource and pushes its close; a failed open pushes nothing. */
  async open<T>(name: string, open: () => T | Promise<T>, close: (resource: T) => void | Promise<void>): Promise<T> {
    if (this.closing) throw new StackClosedError(`${name} cannot open: its role is closed`);
    const resource = await open();
    this.push(name, () => close(resource));
    return resource;
  }

  /**
   * Closes every resource, newest first; each is awaited before the next, so a resource can rely on
   * those opened before it until it is closed itself. A close that throws does not stop the others;
   * the errors are reported together as an AggregateError once all are closed.
   */
  close(): Promise<void> {
    this.closing ??= this.closeAll();
    return this.closing;
  }

  private async closeAll(): Promise<void> {
    const errors: Error[] = [];
    for (const { name, close } of this.closers.splice(0).reverse()) {
      try {
        await close();
      } catch (err) {
        errors.push(new Error(`closing ${name}: ${(err as Error).message}`, { cause: err }));
      }
    }
    if (errors.length) throw new AggregateError(errors, errors.map((e) => e.message).join('; '));
  }
}

/**
 * Runs a role's start with a fresh stack: if it throws, everything it opened is closed (newest
 * first) and the start error is rethrown. A close error on that path is attached to it as
 * `closeError`, so it is not lost but never replaces the error that stopped the start.
 */
export async function build<T>(start: (stack: ResourceStack) => Promise<T>): Promise<T> {
  const stack = new ResourceStack();
  try {
    return await start(stack);
  } catch (err) {
    await stack.close().catch((closeError: unknown) => {
      if (err instanceof Error) Object.assign(err, { closeError });
    });
    throw err;
  }
}
