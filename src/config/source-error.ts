/**
 * One problem found in a config or zone file, printed as `file:line: reason`: the form every
 * loader reports in (the YAML loader, the zone-file parser and validator, `meridian check`).
 * @module
 */

/** One problem found in a config or zone file. Printed as `file:line: reason`, or `file:line:column: reason` when the column is known. */
export interface SourceError {
  file: string;
  line: number;
  /** 1-based; known for YAML syntax errors. */
  column?: number;
  reason: string;
}

export function formatSourceError(e: SourceError): string {
  // Line 0: about the whole file (it cannot be read, its origin is bad), so no position is shown.
  if (e.line === 0) return `${e.file}: ${e.reason}`;
  return `${e.file}:${e.line}${e.column !== undefined ? `:${e.column}` : ''}: ${e.reason}`;
}
