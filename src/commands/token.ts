/**
 * `meridian token new --name NAME --role viewer|operator|admin`: makes a token for the YAML's
 * `admin.tokens` list. It prints the secret (give it to the client) and the config entry, which
 * holds only the secret's SHA-256, so config files and their backups never contain a credential.
 * Tokens made through the API (POST /v1/tokens) live in the config store instead.
 * @module
 */
import { parseArgs } from 'node:util';
import { Value } from '@sinclair/typebox/value';
import { StaticTokenSchema } from '../admin/config.js';
import { BEARER_SECRET, newSecret, sha256Hex } from '../admin/auth.js';
import { schemaMessage } from '../config/schema-messages.js';

const USAGE = 'usage: meridian token new --name NAME --role viewer|operator|admin\n       meridian token hash   (reads a secret on stdin, prints its sha256)\n';

export async function tokenCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { name: { type: 'string' }, role: { type: 'string' } } });
  const [sub] = positionals;
  if (sub === 'hash') {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    const secret = Buffer.concat(chunks).toString('utf8').trim();
    if (!secret) {
      process.stderr.write('token hash: no secret on stdin\n');
      return 2;
    }
    if (!BEARER_SECRET.test(secret)) {
      // Its hash would be accepted in the config, and every call with it refused with a bare 401.
      process.stderr.write('MERIDIAN_ERR_USAGE: token hash: a secret is 16 to 200 characters of A-Z a-z 0-9 _ . ~ + / - (the API refuses any other); `meridian token new` makes one\n');
      return 2;
    }
    process.stdout.write(sha256Hex(secret) + '\n');
    return 0;
  }
  if (sub !== 'new' || positionals.length !== 1) {
    process.stderr.write(USAGE);
    return 2;
  }
  const secret = newSecret();
  const entry = { name: values.name ?? '', role: values.role ?? '', sha256: sha256Hex(secret) };
  const problems = [...Value.Errors(StaticTokenSchema, entry)].map((e) => `${e.path.slice(1)}: ${schemaMessage(e)}`);
  if (problems.length) {
    process.stderr.write(`token new: ${problems.join('; ')}\n${USAGE}`);
    return 2;
  }
  process.stdout.write(
    `secret (shown once; give it to the client as "Authorization: Bearer <secret>"):\n  ${secret}\n\nadd to the admin: section of the YAML config:\n  tokens:\n    - { name: ${entry.name}, role: ${entry.role}, sha256: ${entry.sha256} }\n`,
  );
  return 0;
}
