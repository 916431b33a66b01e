// Shared helpers for the jsforce interop tests. The Go harness (../jsforce_test.go)
// starts the sfsim processes and passes their URLs and credentials in the environment;
// nothing here talks to anything but those loopback servers.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { sign } from 'node:crypto';
import jsforce from 'jsforce';

// API_VERSION is deliberately not the newest one: sfsim must accept any vNN.0 and echo
// the version the client asked for in the URLs it returns.
export const API_VERSION = '64.0';
export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

function env(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run these tests through "go test ./interop/..."`);
  }
  return value;
}

// sim describes the sfsim processes the harness started.
export const sim = {
  url: env('SFSIM_URL'),
  clientId: env('SFSIM_CLIENT_ID'),
  clientSecret: env('SFSIM_CLIENT_SECRET'),
  username: env('SFSIM_USERNAME'),
  jwtKeyPEM: readFileSync(env('SFSIM_JWT_KEY'), 'utf8'),
  apiMax: Number(env('SFSIM_API_MAX')),
  seededUsers: Number(env('SFSIM_SEEDED_USERS')),
  limitedUrl: env('SFSIM_LIMITED_URL'),
  limitedApiMax: Number(env('SFSIM_LIMITED_API_MAX')),
  expiringUrl: env('SFSIM_EXPIRING_URL'),
  sessionTtlMs: Number(env('SFSIM_SESSION_TTL_MS')),
};

// seedUsername names the i-th user of the harness's seed file; seedFederationId its
// FederationIdentifier. The harness writes the seed with the same scheme.
export const seedUsername = (i) => `seed.${String(i).padStart(4, '0')}@interop.example`;
export const seedFederationId = (i) => `seed-${String(i).padStart(4, '0')}`;
// Every fifth seeded user has the role SEED_ROLE, the others none; all have the
// profile SEED_PROFILE.
export const SEED_ROLE = 'Interop Engineering';
export const SEED_PROFILE = 'Standard User';
export const seedHasRole = (i) => i % 5 === 0;

// connectWithClientCredentials authorizes a new connection with the OAuth 2.0 client
// credentials grant, the way a jsforce user does it.
export async function connectWithClientCredentials(url = sim.url, version = API_VERSION) {
  const conn = new jsforce.Connection({
    oauth2: { loginUrl: url, clientId: sim.clientId, clientSecret: sim.clientSecret },
    version,
  });
  const userInfo = await conn.authorize({ grant_type: 'client_credentials' });
  return { conn, userInfo };
}

// jwtAssertion builds and RS256-signs a JWT bearer assertion with node's crypto.
export function jwtAssertion({
  iss = sim.clientId,
  sub = sim.username,
  aud = 'https://login.salesforce.com',
  exp = Math.floor(Date.now() / 1000) + 180,
  key = sim.jwtKeyPEM,
} = {}) {
  const encode = (part) => Buffer.from(JSON.stringify(part)).toString('base64url');
  const signingInput = `${encode({ alg: 'RS256' })}.${encode({ iss, sub, aud, exp })}`;
  const signature = sign('sha256', Buffer.from(signingInput), key).toString('base64url');
  return `${signingInput}.${signature}`;
}

// connectWithJwt authorizes a new connection with the JWT bearer grant.
export async function connectWithJwt(claims = {}, url = sim.url) {
  const conn = new jsforce.Connection({ loginUrl: url, version: API_VERSION });
  const userInfo = await conn.authorize({ grant_type: JWT_BEARER, assertion: jwtAssertion(claims) });
  return { conn, userInfo };
}

const ID_SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';

// idChecksum computes the three-character suffix that turns a 15-character Salesforce
// Id into its case-insensitive 18-character form: one character per block of five,
// encoding which of the five are upper-case letters.
export function idChecksum(id15) {
  let suffix = '';
  for (let block = 0; block < 3; block++) {
    let flags = 0;
    for (let i = 0; i < 5; i++) {
      const c = id15[block * 5 + i];
      if (c >= 'A' && c <= 'Z') flags |= 1 << i;
    }
    suffix += ID_SUFFIX_ALPHABET[flags];
  }
  return suffix;
}

// assertId checks that id is an 18-character Salesforce Id with the given key prefix
// and a correct checksum suffix.
export function assertId(id, prefix) {
  assert.match(id, /^[a-zA-Z0-9]{18}$/, `Id ${id} is not 18 alphanumerics`);
  assert.equal(id.slice(0, 3), prefix, `Id ${id} does not start with ${prefix}`);
  assert.equal(id.slice(15), idChecksum(id.slice(0, 15)), `Id ${id} has a wrong checksum suffix`);
}

// assertSaved checks a successful save result: a valid Id with the given prefix, no
// errors, and exactly the other keys of want (e.g. created). It returns the Id.
export function assertSaved(result, prefix, want = {}) {
  const { id, ...rest } = result;
  assertId(id, prefix);
  assert.deepEqual(rest, { success: true, errors: [], ...want });
  return id;
}

// DATETIME is the shape of every datetime in a REST answer.
export const DATETIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/;

// recordUrl is the attributes.url Salesforce gives a record.
export const recordUrl = (type, id) => `/services/data/v${API_VERSION}/sobjects/${type}/${id}`;

// profileId looks a profile's Id up by name, as every client must.
export async function profileId(conn, name) {
  const res = await conn.query(`SELECT Id, Name FROM Profile WHERE Name = '${name}'`);
  assert.equal(res.totalSize, 1, `profile ${name}`);
  return res.records[0].Id;
}

// newUser returns a valid User with every required field; overrides win.
export function newUser(profile, name, overrides = {}) {
  return {
    Username: `${name}@interop.example`,
    LastName: `Last ${name}`,
    FirstName: 'Grace',
    Email: `${name}@interop.example`,
    Alias: name.slice(0, 8),
    TimeZoneSidKey: 'America/New_York',
    LocaleSidKey: 'en_US',
    EmailEncodingKey: 'UTF-8',
    LanguageLocaleKey: 'en_US',
    ProfileId: profile,
    ...overrides,
  };
}

// rejection awaits promise, asserts that it fails, and returns the error.
export async function rejection(promise) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail('expected the call to fail, it succeeded');
}

// assertRestError checks an error jsforce built from a one-element REST error array:
// jsforce names the error after errorCode and keeps the element in err.data.
export function assertRestError(err, { errorCode, message, fields }) {
  assert.equal(err.name, errorCode, `error ${err.name}: ${err.message}`);
  assert.equal(err.errorCode, errorCode);
  assert.equal(err.data.errorCode, errorCode);
  if (message instanceof RegExp) {
    assert.match(err.message, message);
  } else if (message !== undefined) {
    assert.equal(err.message, message);
  }
  if (fields !== undefined) {
    assert.deepEqual(err.data.fields, fields);
  }
}

export { jsforce };
