/**
 * One problem found in a config or zone file, printed as `file:line: reason`: the form every
 * loader reports in (the YAML loader, the zone-file parser and validator, `meridian check`).
 * @module
 */

/** One problem found in a config or zone file. Printed as `file:line: reason`. */
export interface SourceError {
  file: string;
  line: number;
  reason: string;
}

export function formatSourceError(e: SourceError): string {
  return `${e.file}:${e.line}: ${e.reason}`;
}
