/** What a drill is and what it gets to work with. @module */
import type { Row } from '../table.js';
import type { System } from '../system.js';

export interface Drill {
  n: number;
  title: string;
  /** The drill fails (a row "did not finish") past this bound. */
  timeoutMs: number;
  /**
   * Runs the drill and returns its figures. It puts back what it broke (processes, links,
   * partitions, config) before returning, also when it fails.
   */
  run(sys: System, log: (msg: string) => void): Promise<Row[]>;
}
