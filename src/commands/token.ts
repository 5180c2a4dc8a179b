/**
 * `meridian token new --name NAME --role viewer|operator|admin`: makes a token for the YAML's
 * `admin.tokens` list. It prints the secret (give it to the client) and the config entry, which
 * holds only the secret's SHA-256, so config files and their backups never contain a credential.
 * Tokens made through the API (POST /v1/tokens) live in the config store instead.
 * `meridian token hash` prints the SHA-256 of a secret read on stdin.
 * @module
 */
import { Option, type Command } from 'commander';
import { act, subcommand, UsageError } from './define.js';

export function registerToken(program: Command): void {
  const group = subcommand(program, {
    name: 'token',
    summary: 'make an admin API token for admin.tokens, or hash a secret',
    examples: ['meridian token new --name ci --role operator', 'printf %s "$SECRET" | meridian token hash'],
  });
  const made = subcommand(group, {
    name: 'new',
    summary: 'a new token: prints the secret (once) and the admin.tokens entry with its sha256',
    examples: ['meridian token new --name ci --role operator', 'meridian token new --name grafana --role viewer'],
  })
    .requiredOption('--name <name>', 'the token name (audit entries carry it as the author)')
    .addOption(new Option('--role <role>', 'what it may do').choices(['viewer', 'operator', 'admin']).makeOptionMandatory());
  act(made, () => newToken(made.opts<{ name: string; role: string }>()));
  const hash = subcommand(group, {
    name: 'hash',
    summary: 'reads a secret on stdin, prints its sha256 (for admin.tokens)',
    examples: ['printf %s "$SECRET" | meridian token hash'],
  });
  act(hash, hashToken);
}

async function newToken(opts: { name: string; role: string }): Promise<number> {
  const [{ Value }, { StaticTokenSchema }, { newSecret, sha256Hex }, { schemaMessage }] = await Promise.all([
    import('@sinclair/typebox/value'),
    import('../admin/config.js'),
    import('../admin/auth.js'),
    import('../config/schema-messages.js'),
  ]);
  const secret = newSecret();
  const entry = { name: opts.name, role: opts.role, sha256: sha256Hex(secret) };
  const problems = [...Value.Errors(StaticTokenSchema, entry)].map((e) => `${e.path.slice(1)}: ${schemaMessage(e)}`);
  if (problems.length) throw new UsageError('MERIDIAN_ERR_USAGE', problems.join('; '));
  process.stdout.write(
    `secret (shown once; give it to the client as "Authorization: Bearer <secret>"):\n  ${secret}\n\nadd to the admin: section of the YAML config:\n  tokens:\n    - { name: ${entry.name}, role: ${entry.role}, sha256: ${entry.sha256} }\n`,
  );
  return 0;
}

async function hashToken(): Promise<number> {
  const { BEARER_SECRET, sha256Hex } = await import('../admin/auth.js');
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const secret = Buffer.concat(chunks).toString('utf8').trim();
  if (!secret) throw new UsageError('MERIDIAN_ERR_USAGE', 'no secret on stdin');
  // Its hash would be accepted in the config, and every call with it refused with a bare 401.
  if (!BEARER_SECRET.test(secret)) {
    throw new UsageError('MERIDIAN_ERR_USAGE', 'a secret is 16 to 200 characters of A-Z a-z 0-9 _ . ~ + / - (the API refuses any other); `meridian token new` makes one');
  }
  process.stdout.write(sha256Hex(secret) + '\n');
  return 0;
}
