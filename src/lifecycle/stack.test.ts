import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { build, ResourceStack, StackClosedError } from './stack.js';

describe('ResourceStack', () => {
  test('closes in reverse order of opening, each awaited before the next', async () => {
    const stack = new ResourceStack();
    const log: string[] = [];
    for (const name of ['a', 'b', 'c']) {
      await stack.open(
        name,
        () => name,
        async (r) => {
          await new Promise((resolve) => setTimeout(resolve, 1));
          log.push(r);
        },
      );
    }
    assert.deepEqual(stack.names, ['a', 'b', 'c']);
    await stack.close();
    assert.deepEqual(log, ['c', 'b', 'a']);
  });

  test("close is idempotent: the second call gets the first call's promise and closes nothing twice", async () => {
    const stack = new ResourceStack();
    let closes = 0;
    stack.push('x', () => void closes++);
    const first = stack.close();
    assert.equal(stack.close(), first);
    await first;
    await stack.close();
    assert.equal(closes, 1);
  });

  test('a close that throws does not stop the others; the errors come together', async () => {
    const stack = new ResourceStack();
    const closed: string[] = [];
    stack.push('a', () => void closed.push('a'));
    stack.push('b', () => {
      throw new Error('b broke');
    });
    stack.push('c', () => void closed.push('c'));
    await assert.rejects(stack.close(), (err: AggregateError) => err.errors.length === 1 && /closing b: b broke/.test(err.message));
    assert.deepEqual(closed, ['c', 'a']);
  });

  test('a resource opened after close is closed at once and refused', async () => {
    const stack = new ResourceStack();
    await stack.close();
    let closed = false;
    assert.throws(() => stack.push('late', () => void (closed = true)), StackClosedError);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(closed, true);
    await assert.rejects(
      stack.open(
        'later',
        () => 1,
        () => undefined,
      ),
      StackClosedError,
    );
  });
});

describe('build', () => {
  test('a start that fails half-way closes what it opened, newest first, and rethrows the start error', async () => {
    const closed: string[] = [];
    const err = await build(async (stack) => {
      await stack.open(
        'a',
        () => 'a',
        (r) => void closed.push(r),
      );
      await stack.open(
        'b',
        () => 'b',
        (r) => void closed.push(r),
      );
      await stack.open(
        'c',
        () => Promise.reject(new Error('c cannot open')),
        () => void closed.push('c'),
      );
      return 'never';
    }).catch((e: unknown) => e as Error);
    assert.ok(err instanceof Error);
    assert.equal(err.message, 'c cannot open');
    assert.deepEqual(closed, ['b', 'a'], 'what failed to open is not closed; the rest is, in reverse');
  });

  test('a close error on the failure path is attached, not thrown instead of the start error', async () => {
    const err = await build(async (stack) => {
      stack.push('a', () => {
        throw new Error('a broke');
      });
      throw new Error('start failed');
    }).catch((e: unknown) => e as Error & { closeError?: AggregateError });
    assert.equal(err.message, 'start failed');
    assert.match(err.closeError!.message, /closing a: a broke/);
  });

  test('a start that succeeds returns its result and leaves everything open', async () => {
    let closed = false;
    const result = await build(async (stack) => {
      stack.push('a', () => void (closed = true));
      return 42;
    });
    assert.equal(result, 42);
    assert.equal(closed, false);
  });
});
