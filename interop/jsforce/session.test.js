// Session expiry as jsforce handles it, against an sfsim whose access tokens live
// SFSIM_SESSION_TTL_MS: a 401 INVALID_SESSION_ID surfaces as an error, and a
// connection with a refresh function re-authorizes and retries transparently.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { API_VERSION, jsforce, rejection, sim } from './lib.js';

const oauth2 = new jsforce.OAuth2({
  loginUrl: sim.expiringUrl, clientId: sim.clientId, clientSecret: sim.clientSecret,
});

// freshToken runs the client credentials grant directly.
const freshToken = () => oauth2.requestToken({ grant_type: 'client_credentials' });

// connection uses token as jsforce users with their own token handling do; refreshFn,
// when given, is jsforce's hook for getting a new token after a 401.
const connection = (token, refreshFn) => new jsforce.Connection({
  instanceUrl: token.instance_url, accessToken: token.access_token, version: API_VERSION, refreshFn,
});

describe('session expiry', () => {
  // Both tests wait out the same tokens' lifetime, once.
  let plain;
  let refreshable;
  before(async () => {
    [plain, refreshable] = await Promise.all([freshToken(), freshToken()]);
    assert.equal(plain.instance_url, sim.expiringUrl);
    const conn = connection(plain);
    const res = await conn.query('SELECT Id FROM Profile');
    assert.ok(res.totalSize > 0, 'the fresh token works');
    await sleep(sim.sessionTtlMs + 500);
  });

  it('answers an expired token with 401 INVALID_SESSION_ID', async () => {
    const err = await rejection(connection(plain).query('SELECT Id FROM Profile'));
    assert.equal(err.errorCode, 'INVALID_SESSION_ID');
    assert.equal(err.message, 'Session expired or invalid');
  });

  it('lets jsforce refresh once and retry the call', async () => {
    let refreshes = 0;
    const conn = connection(refreshable, (c, callback) => {
      refreshes += 1;
      freshToken().then((t) => callback(null, t.access_token, t), callback);
    });
    const res = await conn.query('SELECT Id FROM Profile');
    assert.ok(res.totalSize > 0);
    assert.equal(refreshes, 1);
    assert.notEqual(conn.accessToken, refreshable.access_token);
  });
});
