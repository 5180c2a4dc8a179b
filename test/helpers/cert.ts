/**
 * A self-signed P-256 certificate for tests, made by openssl: `<dir>/<name>.crt` and `<dir>/<name>.key`,
 * issued to `cn` (also its DNS subject alternative name).
 * @module
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export function makeCert(dir: string, name: string, cn: string): void {
  const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', `/CN=${cn}`];
  execFileSync('openssl', [...args, '-addext', `subjectAltName=DNS:${cn}`, '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.crt`)], { stdio: 'ignore' });
}
