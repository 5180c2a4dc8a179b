/** The worker count, the port-sharing choice and the runtime check (the decisions serve takes before forking). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_WORKERS, portSharing, reusePortAvailable, workerCount } from './plan.js';

test('worker count: the flag or env value first, else dns.workers; auto is the number of cores', () => {
  const table: [string | undefined, 'auto' | number, number, number | RegExp][] = [
    [undefined, 'auto', 8, 8],
    [undefined, 3, 8, 3],
    ['auto', 3, 2, 2],
    ['1', 'auto', 16, 1],
    [' 4 ', 'auto', 2, 4],
    [String(MAX_WORKERS), 'auto', 2, MAX_WORKERS],
    [undefined, 'auto', 1024, MAX_WORKERS],
    ['0', 'auto', 2, /must be auto or an integer from 1 to 256 \(got "0"\)/],
    ['257', 'auto', 2, /got "257"/],
    ['two', 2, 2, /got "two"/],
    ['1.5', 2, 2, /got "1.5"/],
    ['', 2, 2, /got ""/],
  ];
  for (const [given, configured, cores, want] of table) {
    const got = workerCount(given, configured, cores);
    if (want instanceof RegExp) assert.match(String(got), want, `${given}`);
    else assert.equal(got, want, `${given} ${configured} ${cores}`);
  }
});

test('reusePort is Node 22.12+ or 23.1+, on Linux', () => {
  const table: [string, string, boolean][] = [
    ['20.20.2', 'linux', false],
    ['22.11.0', 'linux', false],
    ['22.12.0', 'linux', true],
    ['23.0.0', 'linux', false],
    ['23.1.0', 'linux', true],
    ['24.21.0', 'linux', true],
    ['24.21.0', 'darwin', false],
  ];
  for (const [version, platform, want] of table) assert.equal(reusePortAvailable(version, platform as NodeJS.Platform), want, `${version} ${platform}`);
});

test('port sharing: reusePort where available, else node:cluster; MERIDIAN_WORKER_SHARING can name one', () => {
  assert.equal(portSharing(undefined, true), 'reuseport');
  assert.equal(portSharing('auto', false), 'cluster');
  assert.equal(portSharing('cluster', true), 'cluster');
  assert.equal(portSharing('reuseport', true), 'reuseport');
  assert.match(portSharing('reuseport', false), /needs Node >= 22.12 on Linux/);
  assert.match(portSharing('threads', true), /must be auto, reuseport or cluster \(got "threads"\)/);
});
