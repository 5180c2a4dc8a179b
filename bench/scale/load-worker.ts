/**
 * The DNS load of the scale benchmarks, in a worker thread of its own (a core of its own where
 * there is one): pre-encoded A queries over a pool of (service, client subnet) pairs, sent
 * closed-loop (a window of queries in flight: the node's maximum rate) or open-loop at a fixed
 * rate (sends never wait for answers, so a stall shows as latency, not as a lower rate). Every
 * answer is timed from its send and checked against what its client may be answered (clients.ts);
 * a query unanswered after `timeoutMs` is lost. Counts and latencies are kept per phase.
 * Protocol (load.ts): `mode`, `phase`, `stop` messages in; `ready` (once the pool is encoded and
 * the sockets open) and `result` out.
 * @module
 */
import dgram from 'node:dgram';
import { parentPort, workerData } from 'node:worker_threads';
import { query } from '../../test/helpers/client.js';
import { regionOf, type Expectation } from './clients.js';
import { Histogram, type LatencySummary } from './stats.js';

export interface PoolEntry {
  name: string;
  ecs: string;
  expect: Expectation;
}

export interface LoadInit {
  port: number;
  pool: PoolEntry[];
  timeoutMs: number;
  /** Length of each point of the time series (ms); a new phase starts a new point. */
  intervalMs: number;
}

export type LoadCommand =
  { cmd: 'mode'; mode: 'closed'; window: number } | { cmd: 'mode'; mode: 'open'; rate: number } | { cmd: 'mode'; mode: 'idle' } | { cmd: 'phase'; name: string } | { cmd: 'stop' };

export interface PhaseResult {
  name: string;
  sent: number;
  answered: number;
  lost: number;
  /** Answers that came after their query was counted lost. */
  late: number;
  invalid: number;
  examples: string[];
  latency: LatencySummary;
  /** Wall time of the phase (ms). */
  ms: number;
}

export interface SeriesPoint {
  /** ms since the load started, at the end of the point. */
  t: number;
  /** Length of the point (ms): `intervalMs`, or less at the end of a phase. */
  ms: number;
  phase: string;
  sent: number;
  answered: number;
  p99: number;
  max: number;
}

export type LoadMessage = { type: 'ready' } | { type: 'result'; result: LoadResult };

export interface LoadResult {
  phases: PhaseResult[];
  series: SeriesPoint[];
}

const SOCKETS = 4;
const IDS = 65_536;

class Phase {
  sent = 0;
  answered = 0;
  lost = 0;
  late = 0;
  invalid = 0;
  examples: string[] = [];
  readonly hist = new Histogram();
  readonly startedAt = performance.now();
  endedAt = 0;
  constructor(readonly name: string) {}

  result(): PhaseResult {
    const { name, sent, answered, lost, late, invalid, examples } = this;
    return { name, sent, answered, lost, late, invalid, examples, latency: this.hist.summary(), ms: (this.endedAt || performance.now()) - this.startedAt };
  }
}

/** Why an answer is not valid for its query, or null. */
export function judge(msg: Buffer, exp: Expectation, stable: Int32Array, entry: number): string | null {
  if (msg.length < 12) return 'short message';
  const rcode = msg[3]! & 0x0f;
  if (rcode !== 0) return `rcode ${rcode}`;
  const an = msg.readUInt16BE(6);
  let off = skipName(msg, 12) + 4;
  const regions: number[] = [];
  for (let i = 0; i < an; i++) {
    off = skipName(msg, off);
    const type = msg.readUInt16BE(off);
    const len = msg.readUInt16BE(off + 8);
    if (type === 1 && len === 4) regions.push(regionOf(msg[off + 10]!, msg[off + 11]!, msg[off + 12]!, msg[off + 13]!));
    off += 10 + len;
  }
  if (regions.length === 0) return 'no address';
  if (regions.length > exp.max) return `${regions.length} addresses`;
  for (const r of regions) if (!exp.regions.includes(r)) return `region ${r} not in [${exp.regions.join(' ')}]`;
  if (exp.single && regions.some((r) => r !== regions[0])) return `regions ${regions.join(' ')} (one expected)`;
  if (exp.stable) {
    if (stable[entry] === -1) stable[entry] = regions[0]!;
    else if (stable[entry] !== regions[0]) return `region ${regions[0]} after ${stable[entry]} for the same client`;
  }
  return null;
}

function skipName(msg: Buffer, off: number): number {
  for (;;) {
    const len = msg[off]!;
    if (len === 0) return off + 1;
    if ((len & 0xc0) === 0xc0) return off + 2;
    off += len + 1;
  }
}

function run(init: LoadInit): void {
  const templates = init.pool.map((e) => query(e.name, 'A', { id: 0, ecs: e.ecs }));
  const stable = new Int32Array(init.pool.length).fill(-1);
  const sentAt = Array.from({ length: SOCKETS }, () => new Float64Array(IDS));
  const entryOf = Array.from({ length: SOCKETS }, () => new Int32Array(IDS));
  const phaseOf: Phase[][] = Array.from({ length: SOCKETS }, () => new Array<Phase>(IDS));
  // Sends in order (socket << 16 | id): the oldest outstanding query is at the head.
  const fifo = new Int32Array(SOCKETS * IDS);
  const fifoAt = new Float64Array(SOCKETS * IDS);
  let head = 0;
  let tail = 0;
  const phases: Phase[] = [];
  let phase = new Phase('start');
  phases.push(phase);
  const series: SeriesPoint[] = [];
  const slice = new Histogram();
  let sliceSent = 0;
  let sliceAnswered = 0;
  const t0 = performance.now();
  let sliceStart = t0;
  /** Closes the current point of the series (slices restart with each phase, so they align with it). */
  function endSlice(now: number): void {
    if (sliceSent > 0 || sliceAnswered > 0)
      series.push({ t: Math.round(now - t0), ms: now - sliceStart, phase: phase.name, sent: sliceSent, answered: sliceAnswered, p99: slice.percentile(0.99), max: slice.max });
    slice.reset();
    sliceSent = sliceAnswered = 0;
    sliceStart = now;
  }
  let mode: { mode: 'idle' } | { mode: 'closed'; window: number } | { mode: 'open'; rate: number; from: number; sent: number } = { mode: 'idle' };
  let inFlight = 0;
  let next = 0;

  const sockets = Array.from({ length: SOCKETS }, (_, s) => {
    const sock = dgram.createSocket('udp4');
    sock.on('message', (msg) => onAnswer(s, msg));
    sock.bind(0, '127.0.0.1', () => sock.setRecvBufferSize(4 * 1024 * 1024));
    return sock;
  });

  function send(): void {
    const s = next % SOCKETS;
    const id = (next >> 2) & 0xffff;
    next++;
    const entry = Math.floor(Math.random() * templates.length);
    const t = templates[entry]!;
    const buf = Buffer.allocUnsafe(t.length);
    t.copy(buf);
    buf.writeUInt16BE(id, 0);
    const now = performance.now();
    sentAt[s]![id] = now;
    entryOf[s]![id] = entry;
    phaseOf[s]![id] = phase;
    fifo[tail] = (s << 16) | id;
    fifoAt[tail] = now;
    tail = (tail + 1) % fifo.length;
    phase.sent++;
    sliceSent++;
    inFlight++;
    sockets[s]!.send(buf, init.port, '127.0.0.1');
  }

  function onAnswer(s: number, msg: Buffer): void {
    if (msg.length < 2) return;
    const id = msg.readUInt16BE(0);
    const at = sentAt[s]![id]!;
    const p = phaseOf[s]![id];
    if (at === 0 || !p) {
      if (p) p.late++;
      return;
    }
    sentAt[s]![id] = 0;
    inFlight--;
    const ms = performance.now() - at;
    p.answered++;
    p.hist.add(ms);
    slice.add(ms);
    sliceAnswered++;
    const entry = entryOf[s]![id]!;
    const why = judge(msg, init.pool[entry]!.expect, stable, entry);
    if (why) {
      p.invalid++;
      if (p.examples.length < 5) p.examples.push(`${init.pool[entry]!.name} ecs ${init.pool[entry]!.ecs}: ${why}`);
    }
    if (mode.mode === 'closed' && inFlight < mode.window) send();
  }

  /** Counts as lost every query older than the timeout still unanswered; refills a closed loop. */
  function sweep(now: number): void {
    while (head !== tail && now - fifoAt[head]! > init.timeoutMs) {
      const key = fifo[head]!;
      const s = key >> 16;
      const id = key & 0xffff;
      if (sentAt[s]![id] === fifoAt[head]) {
        sentAt[s]![id] = 0;
        phaseOf[s]![id]!.lost++;
        inFlight--;
      }
      head = (head + 1) % fifo.length;
    }
    if (mode.mode === 'closed') while (inFlight < mode.window) send();
  }

  const pacer = setInterval(() => {
    const now = performance.now();
    if (mode.mode === 'open') {
      const due = Math.floor(((now - mode.from) / 1000) * mode.rate) - mode.sent;
      for (let i = 0; i < due; i++) send();
      mode.sent += Math.max(0, due);
    }
    sweep(now);
    if (now - sliceStart >= init.intervalMs) endSlice(now);
  }, 1);

  parentPort!.on('message', (c: LoadCommand) => {
    if (c.cmd === 'mode') {
      mode = c.mode === 'open' ? { mode: 'open', rate: c.rate, from: performance.now(), sent: 0 } : c;
      if (mode.mode === 'closed') sweep(performance.now());
    } else if (c.cmd === 'phase') {
      phase.endedAt = performance.now();
      endSlice(phase.endedAt);
      phase = new Phase(c.name);
      phases.push(phase);
    } else {
      mode = { mode: 'idle' };
      phase.endedAt = performance.now();
      // Whatever is still in flight gets its full timeout before it counts as lost.
      setTimeout(() => {
        sweep(Infinity);
        clearInterval(pacer);
        for (const s of sockets) s.close();
        const result: LoadResult = { phases: phases.filter((p) => p.sent > 0).map((p) => p.result()), series };
        parentPort!.postMessage({ type: 'result', result });
      }, init.timeoutMs + 100);
    }
  });
}

if (parentPort && workerData) {
  run(workerData as LoadInit);
  parentPort.postMessage({ type: 'ready' });
}
