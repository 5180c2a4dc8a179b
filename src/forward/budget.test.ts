import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConnectionBudget, MAX_DEFAULT_CAP, connectionsFor, readFdLimit } from './budget.js';

const LIMITS = (soft: string): string =>
  `Limit                     Soft Limit           Hard Limit           Units     \nMax processes             96367                96367                processes \nMax open files            ${soft}                20000                files     \n`;

describe('fd budget', () => {
  it('reads the soft open-files limit from /proc/self/limits text', () => {
    assert.equal(readFdLimit(LIMITS('1024')), 1024);
    assert.equal(readFdLimit(LIMITS('unlimited')), null);
    assert.equal(readFdLimit('garbage'), null);
    // This process (Linux): a number.
    assert.equal(typeof readFdLimit(), 'number');
  });

  it('halves what the reserve leaves, shares it among listeners, and refuses past it', () => {
    assert.equal(connectionsFor(320, 100), 110);
    assert.equal(connectionsFor(100, 320), 0);
    const b = new ConnectionBudget(320, 100);
    const leave = b.join();
    b.join();
    assert.equal(b.share(), 55);
    leave();
    leave(); // once only
    assert.equal(b.share(), 110);
    for (let i = 0; i < 110; i++) assert.ok(b.take());
    assert.equal(b.take(), false);
    b.give();
    assert.ok(b.take());
    assert.equal(new ConnectionBudget(1_000_000, 0).share(), MAX_DEFAULT_CAP);
    assert.equal(ConnectionBudget.unbounded().take(), true);
    assert.equal(ConnectionBudget.unbounded().share(), MAX_DEFAULT_CAP);
  });
});
