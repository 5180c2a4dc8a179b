/**
 * Test configs check and forward to backends on loopback, which `health.targets` refuses by
 * default (src/probe/README.md, Targets). Every helper that writes a YAML passes it through
 * `allowLoopback`, so the allowance is explicit in each file, as in zones/meridian.yaml; a test of
 * the default gives `health.targets` itself (`{}` for the bare defaults), which is then kept.
 * @module
 */
export const LOOPBACK_ALLOW = ['127.0.0.0/8', '::1'];

export function allowLoopback<T extends object>(config: T): T {
  const c = config as Record<string, unknown>;
  const health = (c['health'] ?? {}) as Record<string, unknown>;
  if (health['targets'] !== undefined) return config;
  return { ...config, health: { ...health, targets: { allow: LOOPBACK_ALLOW } } };
}
