/**
 * TLS of the admin API (`admin.tls`): bearer tokens must not cross a network in clear text. The
 * certificate and key are PEM files named in the YAML (relative to it), checked at load (`meridian
 * check` reports an unreadable file, a bad PEM or a key that is not the certificate's), read at
 * start and again on SIGHUP, so a renewed certificate is served without a restart.
 * @module
 */
import { readFileSync } from 'node:fs';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { dirname, resolve as resolvePath } from 'node:path';

export interface AdminTlsFiles {
  cert: string;
  key: string;
}

export interface AdminTlsMaterial {
  cert: Buffer;
  key: Buffer;
}

/** The files' paths resolved against the config file's directory. */
export function resolveTlsFiles(configFile: string, tls: AdminTlsFiles): AdminTlsFiles {
  const dir = dirname(configFile);
  return { cert: resolvePath(dir, tls.cert), key: resolvePath(dir, tls.key) };
}

/** Reads and checks the pair; throws an Error whose message names the file and what is wrong with it. */
export function readTlsMaterial(files: AdminTlsFiles): AdminTlsMaterial {
  const cert = readPem(files.cert, 'cert');
  const key = readPem(files.key, 'key');
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new Error(`cert: ${files.cert} holds no PEM certificate (${(err as Error).message})`, { cause: err });
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new Error(`key: ${files.key} holds no PEM private key (${(err as Error).message})`, { cause: err });
  }
  if (!x509.checkPrivateKey(privateKey)) throw new Error(`key: ${files.key} is not the private key of the certificate in ${files.cert}`);
  return { cert, key };
}

function readPem(file: string, field: 'cert' | 'key'): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(`${field}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  }
}

/**
 * The name a client on this host verifies the API's certificate against: its first DNS name, else
 * its first IP address, else its common name. The CLI connects to `admin.listen` (loopback for a
 * wildcard), an address the certificate rarely names, so it checks the name the certificate was
 * issued for instead, and trusts the system's roots plus the certificate itself (self-signed).
 */
export function certificateName(cert: Buffer): string | null {
  const x509 = new X509Certificate(cert);
  const names = (x509.subjectAltName ?? '').split(',').map((s) => s.trim());
  const dns = names.find((n) => n.startsWith('DNS:'));
  if (dns) return dns.slice(4);
  const ip = names.find((n) => n.startsWith('IP Address:'));
  if (ip) return ip.slice('IP Address:'.length);
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(x509.subject);
  return cn ? cn[1]! : null;
}
