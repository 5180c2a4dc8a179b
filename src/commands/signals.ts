/**
 * SIGHUP for a long-running subcommand, handled from its first moment: SIGHUP's default action
 * kills the process, so a reload sent while the role is still starting (systemd's ExecReload, a
 * config-management run) would otherwise stop it. Such a signal is replayed once the role can
 * reload; once it is stopping, signals are ignored (the handler stays, so a late SIGHUP cannot kill
 * a draining process).
 * @module
 */
export function sighup(): { ready(reload: () => void): void; ignore(): void } {
  let reload: (() => void) | null = null;
  let pending = false;
  process.on('SIGHUP', () => {
    if (reload) reload();
    else pending = true;
  });
  return {
    ready(fn) {
      reload = fn;
      if (pending) fn();
      pending = false;
    },
    ignore() {
      reload = () => undefined;
      pending = false;
    },
  };
}
