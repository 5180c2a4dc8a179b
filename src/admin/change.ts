/**
 * The one path every config write takes: read head -> apply the edit to a copy -> validate and
 * compile the whole document -> diff -> commit with compare-and-set. A request that fails at any
 * step changes nothing. Writes in this process are serialised so they never race each other; the
 * store's CAS protects against writers in other processes (412 with If-Match, a re-read without).
 * @module
 */
import type { CompileResult, ConfigDocument } from '../config/document.js';
import { diffDocuments } from '../store/diff.js';
import type { DiffEntry, VersionRecord } from '../store/types.js';
import type { AdminDeps } from './context.js';
import { configAnswers, type AnswerChanges } from './dryrun.js';
import { AdminError } from './errors.js';

export interface ChangeRequest {
  /** Parsed If-Match: a version number, or undefined when absent (or `*`). */
  ifMatch: number | undefined;
  dryRun: boolean;
  /** Client addresses for the dry run's answer comparison, when the request names them. */
  sample?: string[];
  author: string;
  reason: string;
  action: string;
  target: string;
  /** Edits the document in place; throws AdminError (404, 409 …) when the edit does not apply. */
  edit(document: ConfigDocument): void;
}

export type ChangeOutcome =
  | { kind: 'committed'; record: VersionRecord }
  /** The edit changed nothing (a repeated request): no version is created. */
  | { kind: 'unchanged'; version: number }
  | { kind: 'dry-run'; version: number; diff: DiffEntry[]; answers: AnswerChanges };

/** A dry run validated against the head: what its answer comparison needs. */
interface Rehearsed {
  kind: 'rehearsed';
  version: number;
  diff: DiffEntry[];
  before: ConfigDocument;
  after: CompileResult & { ok: true };
}

const MAX_ATTEMPTS = 10;

export class ChangeRunner {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: AdminDeps) {}

  /** Runs `fn` after every earlier change of this process has finished. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /**
   * The current version, for reads: the store's head, or while the store cannot be reached the
   * version this node answers from (`fromStore` false), so reads keep working in an outage.
   */
  async current(): Promise<VersionRecord & { fromStore: boolean }> {
    try {
      return { ...(await this.head()), fromStore: true };
    } catch (err) {
      const local = this.deps.current?.();
      if (err instanceof AdminError && err.code === 'MERIDIAN_ERR_STORE_UNAVAILABLE' && local) return { ...local, fromStore: false };
      throw err;
    }
  }

  /** The store's head version, for writes (no fallback: a change is made against the store). */
  async head(): Promise<VersionRecord> {
    const store = this.deps.store;
    const head = await guard(() => store.head());
    const record = head > 0 ? await guard(() => store.get(head)) : null;
    if (!record) throw new AdminError('MERIDIAN_ERR_STORE_UNAVAILABLE', `config version ${head} cannot be read`);
    return record;
  }

  /**
   * A dry run's answers are compared after the serial section (in the dry-run worker), so that a
   * rehearsal never holds up the writes queued behind it.
   */
  async apply(req: ChangeRequest): Promise<ChangeOutcome> {
    const outcome = await this.validateAndCommit(req);
    if (outcome.kind !== 'rehearsed') return outcome;
    const { before, after, ...rest } = outcome;
    return { ...rest, kind: 'dry-run', answers: await configAnswers(this.deps, before, after, req.sample) };
  }

  private validateAndCommit(req: ChangeRequest): Promise<Exclude<ChangeOutcome, { kind: 'dry-run' }> | Rehearsed> {
    return this.serial(async () => {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const current = await this.head();
        if (req.ifMatch !== undefined && req.ifMatch !== current.version) {
          throw new AdminError('MERIDIAN_ERR_PRECONDITION_FAILED', `If-Match names version ${req.ifMatch}; the current version is ${current.version}`);
        }
        // A JSON copy: the document is JSON, and this is several times cheaper than structuredClone
        // on a 10,000-endpoint document (issue 17).
        const draft = JSON.parse(JSON.stringify(current.document)) as ConfigDocument;
        req.edit(draft);
        const result = this.deps.compile(draft, current.document);
        if (!result.ok) {
          const first = result.problems[0]!;
          throw new AdminError(first.code ?? 'MERIDIAN_ERR_INVALID_CONFIG', first.reason, first.path, result.problems);
        }
        const diff = diffDocuments(current.document, result.document);
        if (req.dryRun) return { kind: 'rehearsed', version: current.version, diff, before: current.document, after: result };
        if (diff.length === 0) return { kind: 'unchanged', version: current.version };
        const outcome = await guard(() =>
          this.deps.store.commit({ expected: current.version, document: result.document, diff, author: req.author, reason: req.reason, action: req.action, target: req.target }),
        );
        if (outcome.ok) {
          await this.deps.applied?.(outcome.record.version);
          return { kind: 'committed', record: outcome.record };
        }
        // Another process committed first. With If-Match the client must look again; without it,
        // the edit is re-applied to the new head (it is a delta, so nothing is lost).
        if (req.ifMatch !== undefined) {
          throw new AdminError('MERIDIAN_ERR_PRECONDITION_FAILED', `the config moved to version ${outcome.head} while this change was validated`);
        }
      }
      throw new AdminError('MERIDIAN_ERR_BUSY');
    });
  }
}

/** Store failures become 503 with nothing changed; AdminErrors pass through. */
export async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw storeError(err);
  }
}

/**
 * The admin error of a store or bus failure. An unreachable store (the gate's
 * StoreUnavailableError) says so in its own words; the client library's message never reaches
 * the caller for that case.
 */
export function storeError(err: unknown): AdminError {
  if (err instanceof AdminError) return err;
  if ((err as { code?: unknown }).code === 'MERIDIAN_ERR_STORE_UNAVAILABLE') return new AdminError('MERIDIAN_ERR_STORE_UNAVAILABLE', (err as Error).message);
  return new AdminError('MERIDIAN_ERR_STORE_UNAVAILABLE', `config store: ${(err as Error).message}`);
}

/** Health-bus writes (overrides): a bus that cannot be reached is a coded 503 that says so. */
export async function guardBus<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof AdminError || (err as { code?: unknown }).code === 'MERIDIAN_ERR_STORE_UNAVAILABLE') throw storeError(err);
    throw new AdminError('MERIDIAN_ERR_STORE_UNAVAILABLE', 'the health bus (Redis) is unreachable; nothing was changed');
  }
}
