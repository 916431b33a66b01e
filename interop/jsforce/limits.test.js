// The daily API allowance as jsforce sees it: conn.limits(), conn.limitInfo parsed
// from Sforce-Limit-Info on every answer, and REQUEST_LIMIT_EXCEEDED once it is spent.
// The exact counting runs against its own sfsim (SFSIM_LIMITED_URL, a tiny --api-max)
// that no other test file touches.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  SEED_PROFILE, connectWithClientCredentials, newUser, profileId, rejection, sim,
} from './lib.js';

describe('limits on the seeded org', () => {
  it('reports DailyApiRequests with the configured maximum', async () => {
    const { conn } = await connectWithClientCredentials();
    const limits = await conn.limits();
    const daily = limits.DailyApiRequests;
    assert.equal(daily.Max, sim.apiMax);
    assert.ok(Number.isInteger(daily.Remaining) && daily.Remaining >= 0 && daily.Remaining < daily.Max,
      `Remaining ${daily.Remaining}`);
    assert.equal(conn.limitInfo.apiUsage.limit, sim.apiMax);
    assert.ok(conn.limitInfo.apiUsage.used > 0);
  });

  it('updates conn.limitInfo after every call', async () => {
    const { conn } = await connectWithClientCredentials();
    assert.deepEqual(conn.limitInfo, {}, 'nothing known before the first REST call');
    await conn.query('SELECT Id FROM Profile');
    const first = conn.limitInfo.apiUsage.used;
    await conn.query('SELECT Id FROM UserRole');
    assert.equal(conn.limitInfo.apiUsage.limit, sim.apiMax);
    // Other test files share this org, so the usage may have moved by more than one.
    assert.ok(conn.limitInfo.apiUsage.used > first, `${conn.limitInfo.apiUsage.used} after ${first}`);
  });
});

describe('counting on a fresh org with a tiny allowance', () => {
  it('counts each call once, agrees with limits(), and refuses calls once spent', async () => {
    const max = sim.limitedApiMax;
    const { conn } = await connectWithClientCredentials(sim.limitedUrl);
    const usage = () => ({ ...conn.limitInfo.apiUsage });

    const limits = await conn.limits();
    const afterLimits = usage();
    assert.equal(afterLimits.limit, max);
    assert.equal(limits.DailyApiRequests.Max, max);
    // The body and the header of one answer describe the same allowance.
    assert.equal(limits.DailyApiRequests.Remaining, max - afterLimits.used);

    const profile = await profileId(conn, SEED_PROFILE);
    assert.deepEqual(usage(), { used: afterLimits.used + 1, limit: max }, 'a query counts one');

    // A Collections call counts one whatever the number of records.
    const results = await conn.sobject('User').create([
      newUser(profile, 'limit.one'), newUser(profile, 'limit.two'), newUser(profile, 'limit.three'),
    ]);
    assert.deepEqual(results.map((r) => r.success), [true, true, true]);
    assert.deepEqual(usage(), { used: afterLimits.used + 2, limit: max }, 'a Collections call counts one');

    let used = afterLimits.used + 2;
    while (used < max) {
      await conn.query('SELECT Id FROM Profile');
      used += 1;
      assert.deepEqual(usage(), { used, limit: max });
    }

    const err = await rejection(conn.query('SELECT Id FROM Profile'));
    assert.equal(err.errorCode, 'REQUEST_LIMIT_EXCEEDED');
    assert.equal(err.message, 'TotalRequests Limit exceeded.');
    assert.equal(conn.limitInfo.apiUsage.limit, max, 'the refusal carries Sforce-Limit-Info too');
    assert.ok(conn.limitInfo.apiUsage.used >= max);

    // Writes are refused as well, and write nothing.
    const writeErr = await rejection(conn.sobject('User').create(newUser(profile, 'limit.four')));
    assert.equal(writeErr.errorCode, 'REQUEST_LIMIT_EXCEEDED');
  });
});
