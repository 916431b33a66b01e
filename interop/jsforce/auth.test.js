// OAuth 2.0 against sfsim's token endpoint: client credentials and the JWT bearer
// grant, as jsforce performs them, and the documented OAuth error answers.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import {
  API_VERSION, JWT_BEARER, assertId, connectWithClientCredentials, connectWithJwt, jsforce,
  jwtAssertion, rejection, sim,
} from './lib.js';

// assertSession checks what jsforce keeps from a token answer: the instance URL (sfsim
// answers with its own URL), the access token, and the org and user ids it cuts from
// the identity URL's last two segments.
async function assertSession(conn, userInfo) {
  assert.equal(conn.instanceUrl, sim.url);
  assert.equal(typeof conn.accessToken, 'string');
  assert.notEqual(conn.accessToken, '');
  assertId(userInfo.organizationId, '00D');
  assertId(userInfo.id, '005');
  assert.match(userInfo.url, new RegExp(`/id/${userInfo.organizationId}/${userInfo.id}$`));
  // The session works, and it is the integration user's.
  const res = await conn.query(`SELECT Id, Username FROM User WHERE Id = '${userInfo.id}'`);
  assert.equal(res.totalSize, 1);
  assert.equal(res.records[0].Username, sim.username.toLowerCase());
}

// assertOAuthError checks an error jsforce built from an OAuth error answer: it names
// the error after "error" and uses "error_description" as the message.
function assertOAuthError(err, error, description) {
  assert.equal(err.name, error, `got ${err.name}: ${err.message}`);
  if (description !== undefined) assert.equal(err.message, description);
}

describe('client credentials', () => {
  it('authorizes and the session works', async () => {
    const { conn, userInfo } = await connectWithClientCredentials();
    await assertSession(conn, userInfo);
  });

  it('answers in the documented token shape', async () => {
    const oauth2 = new jsforce.OAuth2({
      loginUrl: sim.url, clientId: sim.clientId, clientSecret: sim.clientSecret,
    });
    const res = await oauth2.requestToken({ grant_type: 'client_credentials' });
    assert.equal(res.instance_url, sim.url);
    assert.equal(res.token_type, 'Bearer');
    assert.equal(typeof res.access_token, 'string');
    assert.match(res.id, /\/id\/00D[a-zA-Z0-9]{15}\/005[a-zA-Z0-9]{15}$/);
    // Neither grant gives a refresh token or a lifetime: the client learns of expiry
    // only from a 401.
    assert.equal(res.refresh_token, undefined);
    assert.equal(res.expires_in, undefined);
    if (res.issued_at !== undefined) assert.match(res.issued_at, /^\d{13}$/);
  });

  it('refuses a wrong client secret with invalid_client', async () => {
    const oauth2 = new jsforce.OAuth2({
      loginUrl: sim.url, clientId: sim.clientId, clientSecret: `${sim.clientSecret}-wrong`,
    });
    const err = await rejection(oauth2.requestToken({ grant_type: 'client_credentials' }));
    assertOAuthError(err, 'invalid_client', 'invalid client credentials');
  });

  it('refuses an unknown client id with invalid_client', async () => {
    const oauth2 = new jsforce.OAuth2({
      loginUrl: sim.url, clientId: 'not-a-consumer-key', clientSecret: sim.clientSecret,
    });
    const err = await rejection(oauth2.requestToken({ grant_type: 'client_credentials' }));
    // Which of the two Salesforce gives for an unknown key in this grant is not in any
    // public text (salesforce-api.md section 1); both are OAuth-shaped refusals.
    assert.ok(['invalid_client', 'invalid_client_id'].includes(err.name), `got ${err.name}: ${err.message}`);
  });
});

describe('JWT bearer', () => {
  it('authorizes with an assertion for login.salesforce.com', async () => {
    const { conn, userInfo } = await connectWithJwt();
    await assertSession(conn, userInfo);
  });

  it('authorizes with an assertion for test.salesforce.com', async () => {
    const { conn, userInfo } = await connectWithJwt({ aud: 'https://test.salesforce.com' });
    await assertSession(conn, userInfo);
  });

  // Real orgs take exp in the shapes widely used clients send: the string of digits
  // of Salesforce's own documented example, a far-future expiry, and the Salesforce
  // CLI's Date.now() + 300 (milliseconds).
  const expShapes = [
    { name: 'a string of digits', exp: () => String(Math.floor(Date.now() / 1000) + 180) },
    { name: 'a day ahead', exp: () => Math.floor(Date.now() / 1000) + 24 * 3600 },
    { name: 'in milliseconds', exp: () => Date.now() + 300 },
  ];
  for (const { name, exp } of expShapes) {
    it(`authorizes with exp ${name}`, async () => {
      const { conn, userInfo } = await connectWithJwt({ exp: exp() });
      await assertSession(conn, userInfo);
    });
  }

  it('gives the same user as client credentials', async () => {
    const jwt = await connectWithJwt();
    const cc = await connectWithClientCredentials();
    assert.deepEqual(
      { id: jwt.userInfo.id, org: jwt.userInfo.organizationId },
      { id: cc.userInfo.id, org: cc.userInfo.organizationId },
    );
  });

  const refusals = [
    {
      name: 'a signature by a key other than the certificate\'s',
      claims: () => ({
        // Any other RSA key will do; a small one is quick to generate.
        key: generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey,
      }),
      error: 'invalid_grant',
      description: 'invalid assertion',
    },
    {
      name: 'an expired assertion',
      claims: () => ({ exp: Math.floor(Date.now() / 1000) - 60 }),
      error: 'invalid_grant',
      description: 'expired authorization code',
    },
    {
      name: 'a foreign audience',
      claims: () => ({ aud: 'https://login.example.com' }),
      error: 'invalid_grant',
      description: 'audience is invalid',
    },
    {
      name: 'an unknown consumer key',
      claims: () => ({ iss: 'not-a-consumer-key' }),
      error: 'invalid_client_id',
      description: 'client identifier invalid',
    },
    {
      name: 'a user other than the integration user',
      claims: () => ({ sub: 'nobody@interop.example' }),
      error: 'invalid_grant',
    },
  ];
  for (const { name, claims, error, description } of refusals) {
    it(`refuses ${name}`, async () => {
      const err = await rejection(connectWithJwt(claims()));
      assertOAuthError(err, error, description);
    });
  }

  it('refuses an assertion that is not a JWT', async () => {
    const conn = new jsforce.Connection({ loginUrl: sim.url, version: API_VERSION });
    const err = await rejection(conn.authorize({ grant_type: JWT_BEARER, assertion: 'not.a.jwt' }));
    assertOAuthError(err, 'invalid_grant', 'invalid assertion');
  });

  it('refuses an assertion whose signature was tampered with', async () => {
    const [header, , signature] = jwtAssertion().split('.');
    const claims = Buffer.from(JSON.stringify({
      iss: sim.clientId, sub: sim.username, aud: 'https://login.salesforce.com',
      exp: Math.floor(Date.now() / 1000) + 240,
    })).toString('base64url');
    const conn = new jsforce.Connection({ loginUrl: sim.url, version: API_VERSION });
    const err = await rejection(conn.authorize({
      grant_type: JWT_BEARER, assertion: `${header}.${claims}.${signature}`,
    }));
    assertOAuthError(err, 'invalid_grant', 'invalid assertion');
  });
});

describe('identity', () => {
  it('answers the identity URL with the integration user', async () => {
    const { conn, userInfo } = await connectWithClientCredentials();
    const id = await conn.identity();
    assert.equal(id.user_id, userInfo.id);
    assert.equal(id.organization_id, userInfo.organizationId);
    assert.equal(id.id, userInfo.url);
    assert.equal(id.username, sim.username.toLowerCase());
  });

  it('lists the identity URL among the version\'s resources', async () => {
    const { conn, userInfo } = await connectWithClientCredentials();
    // A connection built from a bare token knows no identity URL: jsforce looks it up
    // in GET /services/data/vNN.0.
    const bare = new jsforce.Connection({
      instanceUrl: conn.instanceUrl, accessToken: conn.accessToken, version: API_VERSION,
    });
    const id = await bare.identity();
    assert.equal(id.user_id, userInfo.id);
    assert.equal(id.organization_id, userInfo.organizationId);
  });
});

describe('sessions', () => {
  it('answers an unknown access token with 401 INVALID_SESSION_ID', async () => {
    const conn = new jsforce.Connection({
      instanceUrl: sim.url, accessToken: '00D000000000000!bogus', version: API_VERSION,
    });
    const err = await rejection(conn.query('SELECT Id FROM User LIMIT 1'));
    assert.equal(err.errorCode, 'INVALID_SESSION_ID');
    assert.equal(err.message, 'Session expired or invalid');
  });
});
