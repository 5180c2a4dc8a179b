/**
 * The one shape of a role (`serve`, `probe`, `forward`). One function builds a role from its config
 * inside `build()` (stack.ts), opening every resource through the stack; from then on every change,
 * whether the first config, a new config-store version or SIGHUP, reaches the role through `apply`.
 * There is never a second swap path, so the paths cannot drift apart.
 * @module
 */

export interface Role<C> {
  /** The config in force. */
  readonly config: C;
  /**
   * Swaps in a whole new config. Returns the problems that kept it out (the running config stays
   * in force then); an empty list means it is live.
   */
  apply(config: C): string[];
  /** Closes every resource, newest first; idempotent. */
  close(): Promise<void>;
}
