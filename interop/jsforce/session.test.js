// Session expiry as jsforce handles it, against an sfsim whose access tokens live
// SFSIM_SESSION_TTL_MS: a 401 INVALID_SESSION_ID surfaces as an error, and a
// connection with a refresh function re-authorizes and retries transparently.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { API_VERSION, jsforce, rejection, sim } from './lib.js';

const oauth2 = new jsforce.OAuth2({
  loginUrl: sim.expiringUrl, clientId: sim.clientId, clientSecret: sim.clientSecret,
});

// freshToken runs the client credentials grant directly.
const freshToken = () => oauth2.requestToken({ grant_type: 'client_credentials' });

describe('session expiry', () => {
  it('answers an expired token with 401 INVALID_SESSION_ID', async () => {
    const token = await freshToken();
    assert.equal(token.instance_url, sim.expiringUrl);
    const conn = new jsforce.Connection({
      instanceUrl: token.instance_url, accessToken: token.access_token, version: API_VERSION,
    });
    const before = await conn.query('SELECT Id FROM Profile');
    assert.ok(before.totalSize > 0);

    await sleep(sim.sessionTtlMs + 500);
    const err = await rejection(conn.query('SELECT Id FROM Profile'));
    assert.equal(err.errorCode, 'INVALID_SESSION_ID');
    assert.equal(err.message, 'Session expired or invalid');
  });

  it('lets jsforce refresh once and retry the call', async () => {
    const token = await freshToken();
    let refreshes = 0;
    const conn = new jsforce.Connection({
      instanceUrl: token.instance_url,
      accessToken: token.access_token,
      version: API_VERSION,
      refreshFn: (c, callback) => {
        refreshes += 1;
        freshToken().then((t) => callback(null, t.access_token, t), callback);
      },
    });
    await sleep(sim.sessionTtlMs + 500);
    const res = await conn.query('SELECT Id FROM Profile');
    assert.ok(res.totalSize > 0);
    assert.equal(refreshes, 1);
    assert.notEqual(conn.accessToken, token.access_token);
  });
});
