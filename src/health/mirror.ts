/**
 * Health for a process that answers DNS but runs no health plane of its own (a DNS worker of
 * `meridian serve --workers N`, src/node/workers/): a copy of what the answers depend on per region
 * (`RegionAnswer`: state, addresses out, load factor), fed by the process that runs the plane.
 *
 * Only regions whose answers changed travel (`HealthChange.regions`), so a probe flip costs its
 * region here too, whatever the size of the deployment. The copy judges nothing by itself (no
 * heartbeats, no clock): the plane's process does all of that, so a copy whose feed stalls keeps
 * answering from the last answers it got (static stability).
 * @module
 */
import { effectiveWeight } from './load.js';
import type { HealthSnapshot, RegionState } from './snapshot.js';
import type { RegionAnswer } from './state.js';

/** A RegionAnswer as plain data (structured-clone and JSON safe). */
export interface WireAnswer {
  state: RegionState;
  down: string[];
  factor: number;
}

/** What one health change sends: the answers of the regions that changed (null: the region is gone). */
export interface AnswerUpdate {
  version: number;
  /** Every region the plane knows: regions absent from `answers` are dropped from the copy. */
  full: boolean;
  answers: [string, WireAnswer | null][];
}

/** The update for `regions` (a change), or for every region when `regions` is null (a new copy). */
export function answerUpdate(version: number, answerOf: (region: string) => RegionAnswer | undefined, regions: Iterable<string>, full: boolean): AnswerUpdate {
  const answers: [string, WireAnswer | null][] = [];
  for (const id of regions) {
    const a = answerOf(id);
    answers.push([id, a ? { state: a.state, down: [...a.downAddresses], factor: a.factor } : null]);
  }
  return { version, full, answers };
}

export class MirroredHealth implements HealthSnapshot {
  private readonly answers = new Map<string, RegionAnswer>();
  private v = 0;
  private readonly listeners = new Set<(regions: ReadonlySet<string>) => void>();

  get version(): number {
    return this.v;
  }

  /** Takes an update in; listeners hear the regions whose answers it replaced. */
  apply(update: AnswerUpdate): void {
    const changed = new Set<string>();
    if (update.full) {
      const kept = new Set(update.answers.map(([id]) => id));
      for (const id of this.answers.keys()) if (!kept.has(id)) changed.add(id);
      for (const id of changed) this.answers.delete(id);
    }
    for (const [id, a] of update.answers) {
      changed.add(id);
      if (a) this.answers.set(id, { state: a.state, downAddresses: new Set(a.down), factor: a.factor });
      else this.answers.delete(id);
    }
    this.v = update.version;
    if (changed.size === 0) return;
    for (const l of [...this.listeners]) l(changed);
  }

  /** Calls `listener` with the regions each update changed (the DNS layer drops those decision caches). */
  onSwap(listener: (regions: ReadonlySet<string>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  region(id: string): RegionState {
    return this.answers.get(id)?.state ?? 'up';
  }

  addressUp(regionId: string, address: string): boolean {
    return !this.answers.get(regionId)?.downAddresses.has(address);
  }

  effectiveWeight(regionId: string, configured: number): number {
    return effectiveWeight(configured, this.answers.get(regionId)?.factor ?? 1);
  }
}
