// SOQL over REST as jsforce drives it: cursor paging over more than 2000 rows,
// parent fields, jsforce's own SOQL builder, and the query errors.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  API_VERSION, DATETIME, SEED_PROFILE, SEED_ROLE, assertId, assertRestError,
  connectWithClientCredentials, jsforce, profileId, recordUrl, rejection, seedFederationId,
  seedHasRole, seedUsername, sim,
} from './lib.js';

const SEEDED = "SELECT Id, Username, IsActive FROM User WHERE Username LIKE 'seed.%@interop.example'";

let conn;
before(async () => {
  ({ conn } = await connectWithClientCredentials());
});

// expectedSeedUsernames lists every seeded username, sorted.
function expectedSeedUsernames() {
  return Array.from({ length: sim.seededUsers }, (_, i) => seedUsername(i + 1));
}

describe('paging', () => {
  it('seeds more than one default page of users', () => {
    assert.ok(sim.seededUsers > 2000, `only ${sim.seededUsers} seeded users`);
  });

  it('answers the first page with totalSize of the whole result and a cursor', async () => {
    // conn.request gives the raw answer; jsforce's Query rewrites nextRecordsUrl.
    const page = await conn.request(`/query?q=${encodeURIComponent(SEEDED)}`);
    assert.equal(page.totalSize, sim.seededUsers);
    assert.equal(page.done, false);
    assert.equal(page.records.length, 2000, 'default page size');
    // The cursor is relative to the instance URL, carries the version the client asked
    // for, and ends in the locator (jsforce keeps only the last path segment).
    assert.match(page.nextRecordsUrl, new RegExp(`^/services/data/v${API_VERSION}/query/[^/?]+$`));

    const rest = await conn.queryMore(page.nextRecordsUrl);
    assert.equal(rest.totalSize, sim.seededUsers);
    assert.equal(rest.done, true);
    assert.equal(rest.nextRecordsUrl, undefined);
    assert.equal(rest.records.length, sim.seededUsers - 2000);

    const usernames = [...page.records, ...rest.records].map((r) => r.Username).sort();
    assert.deepEqual(usernames, expectedSeedUsernames());
  });

  it('follows nextRecordsUrl with autoFetch and returns every row once', async () => {
    let fetches = 0;
    const query = conn.query(SEEDED, { autoFetch: true, maxFetch: 100000 });
    query.on('fetch', () => { fetches += 1; });
    const res = await query;
    assert.equal(fetches, Math.ceil(sim.seededUsers / 2000));
    assert.equal(res.totalSize, sim.seededUsers);
    assert.equal(res.done, true);
    assert.equal(res.records.length, sim.seededUsers);
    const ids = new Set(res.records.map((r) => r.Id));
    assert.equal(ids.size, sim.seededUsers, 'every row exactly once');
    assert.deepEqual(res.records.map((r) => r.Username).sort(), expectedSeedUsernames());
    for (const r of res.records) {
      assertId(r.Id, '005');
      assert.deepEqual(r.attributes, { type: 'User', url: recordUrl('User', r.Id) });
      assert.equal(r.IsActive, true);
    }
  });

  it('pages by the batchSize asked for in Sforce-Query-Options', async () => {
    let fetches = 0;
    const query = conn.query(SEEDED, {
      autoFetch: true,
      maxFetch: 100000,
      headers: { 'Sforce-Query-Options': 'batchSize=500' },
    });
    query.on('fetch', () => { fetches += 1; });
    const res = await query;
    assert.equal(fetches, Math.ceil(sim.seededUsers / 500));
    assert.equal(new Set(res.records.map((r) => r.Id)).size, sim.seededUsers);
  });

  it('stops at maxFetch', async () => {
    const res = await conn.query(SEEDED, { autoFetch: true, maxFetch: 2100 });
    assert.equal(res.totalSize, sim.seededUsers);
    assert.equal(res.records.length, 2100);
    assert.equal(new Set(res.records.map((r) => r.Id)).size, 2100);
  });

  it('answers an empty result as done with no records', async () => {
    const page = await conn.request(`/query?q=${encodeURIComponent("SELECT Id FROM User WHERE Username = 'nobody@interop.example'")}`);
    assert.deepEqual(page, { totalSize: 0, done: true, records: [] });
  });

  it('keeps totalSize of the whole result when LIMIT cuts it', async () => {
    const res = await conn.query(`${SEEDED} ORDER BY Username LIMIT 3`);
    assert.deepEqual(
      { totalSize: res.totalSize, done: res.done, usernames: res.records.map((r) => r.Username) },
      { totalSize: 3, done: true, usernames: [seedUsername(1), seedUsername(2), seedUsername(3)] },
    );
  });
});

describe('records', () => {
  let standardUserProfile;
  let roleId;
  before(async () => {
    standardUserProfile = await profileId(conn, SEED_PROFILE);
    const roles = await conn.query(`SELECT Id, Name FROM UserRole WHERE Name = '${SEED_ROLE}'`);
    assert.equal(roles.totalSize, 1);
    roleId = roles.records[0].Id;
    assertId(roleId, '00E');
    assertId(standardUserProfile, '00e');
  });

  it('answers parent fields as nested records, and null for a missing parent', async () => {
    const withRole = 5;
    const withoutRole = 6;
    assert.ok(seedHasRole(withRole) && !seedHasRole(withoutRole));
    const res = await conn.query(
      'SELECT Id, Username, ProfileId, Profile.Name, UserRoleId, UserRole.Name FROM User'
      + ` WHERE Username IN ('${seedUsername(withRole)}', '${seedUsername(withoutRole)}')`
      + ' ORDER BY Username',
    );
    assert.equal(res.totalSize, 2);
    const [a, b] = res.records;
    const profile = {
      attributes: { type: 'Profile', url: recordUrl('Profile', standardUserProfile) },
      Name: SEED_PROFILE,
    };
    assert.deepEqual(a, {
      attributes: { type: 'User', url: recordUrl('User', a.Id) },
      Id: a.Id,
      Username: seedUsername(withRole),
      ProfileId: standardUserProfile,
      Profile: profile,
      UserRoleId: roleId,
      UserRole: { attributes: { type: 'UserRole', url: recordUrl('UserRole', roleId) }, Name: SEED_ROLE },
    });
    assert.deepEqual(b, {
      attributes: { type: 'User', url: recordUrl('User', b.Id) },
      Id: b.Id,
      Username: seedUsername(withoutRole),
      ProfileId: standardUserProfile,
      Profile: profile,
      UserRoleId: null,
      UserRole: null,
    });
  });

  it('filters on a parent field', async () => {
    const res = await conn.query(
      `SELECT Id FROM User WHERE UserRole.Name = '${SEED_ROLE}' AND Username LIKE 'seed.%'`,
    );
    assert.equal(res.totalSize, Math.floor(sim.seededUsers / 5));
  });

  it('compares strings case-insensitively', async () => {
    const res = await conn.query(
      `SELECT Username FROM User WHERE Username = '${seedUsername(7).toUpperCase()}'`,
    );
    assert.deepEqual(res.records.map((r) => r.Username), [seedUsername(7)]);
  });

  it('answers datetimes, booleans and nulls in Salesforce\'s JSON shapes', async () => {
    const res = await conn.query(
      'SELECT Id, IsActive, CreatedDate, LastModifiedDate, SystemModstamp, LastLoginDate,'
      + ` FederationIdentifier, UserType FROM User WHERE Username = '${seedUsername(9)}'`,
    );
    const [r] = res.records;
    assert.equal(r.IsActive, true);
    assert.match(r.CreatedDate, DATETIME);
    assert.match(r.LastModifiedDate, DATETIME);
    assert.match(r.SystemModstamp, DATETIME);
    assert.equal(r.LastLoginDate, null);
    assert.equal(r.FederationIdentifier, seedFederationId(9));
    assert.equal(r.UserType, 'Standard');
  });

  it('counts with SELECT COUNT(), as jsforce\'s count() asks', async () => {
    const n = await conn.sobject('User').count({ Username: { $like: 'seed.%' } });
    assert.equal(n, sim.seededUsers);
  });

  it('answers queryAll like query for users', async () => {
    const res = await conn.query(`${SEEDED} AND FederationIdentifier IN ('${seedFederationId(1)}', '${seedFederationId(2)}')`, { scanAll: true });
    assert.deepEqual(res.records.map((r) => r.Username).sort(), [seedUsername(1), seedUsername(2)]);
  });

  it('reads permission set assignments with both parents', async () => {
    const res = await conn.query(
      'SELECT PermissionSet.Name, Assignee.Username FROM PermissionSetAssignment'
      + ` WHERE Assignee.Username = '${seedUsername(10)}' AND PermissionSet.IsOwnedByProfile = false`,
    );
    assert.equal(res.totalSize, 1);
    const [a] = res.records;
    assert.equal(a.PermissionSet.Name, 'Sales_Ops');
    assert.equal(a.PermissionSet.attributes.type, 'PermissionSet');
    assert.equal(a.Assignee.Username, seedUsername(10));
    assert.equal(a.Assignee.attributes.type, 'User');
    assertId(a.attributes.url.split('/').pop(), '0Pa');
  });

  it('runs the SOQL jsforce\'s query builder writes', async () => {
    const feds = [seedFederationId(3), seedFederationId(7), seedFederationId(42)];
    // jsforce writes: SELECT Id, Username FROM User WHERE Username LIKE 'seed.00%'
    // AND IsActive = true AND FederationIdentifier IN ('seed-0003', ...) AND
    // CreatedDate < <datetime literal> ORDER BY Username DESC LIMIT 2 OFFSET 1
    const records = await conn.sobject('User')
      .find({
        Username: { $like: 'seed.00%' },
        IsActive: true,
        FederationIdentifier: { $in: feds },
        CreatedDate: { $lt: jsforce.SfDate.toDateTimeLiteral(new Date(Date.now() + 86400000)) },
      }, ['Id', 'Username'])
      .sort('-Username')
      .limit(2)
      .offset(1);
    assert.deepEqual(records.map((r) => r.Username), [seedUsername(7), seedUsername(3)]);
  });

  it('runs NOT, OR and NOT LIKE from the query builder', async () => {
    const records = await conn.sobject('User')
      .find({
        $or: [{ Username: seedUsername(11) }, { Username: seedUsername(12) }, { Username: seedUsername(13) }],
        $not: { FederationIdentifier: seedFederationId(12) },
        Email: { $nlike: 'nobody%' },
      }, ['Username'])
      .sort('Username');
    assert.deepEqual(records.map((r) => r.Username), [seedUsername(11), seedUsername(13)]);
  });
});

describe('errors', () => {
  it('answers SOQL that does not parse with MALFORMED_QUERY', async () => {
    const err = await rejection(conn.query('SELECT FROM User'));
    assertRestError(err, { errorCode: 'MALFORMED_QUERY' });
  });

  it('answers an unknown field with INVALID_FIELD', async () => {
    const err = await rejection(conn.query('SELECT Id, Shoesize FROM User'));
    assertRestError(err, { errorCode: 'INVALID_FIELD', message: /No such column 'Shoesize' on entity 'User'/ });
  });

  it('answers OFFSET over 2000 with NUMBER_OUTSIDE_VALID_RANGE', async () => {
    const err = await rejection(conn.query('SELECT Id FROM User ORDER BY Username LIMIT 10 OFFSET 2001'));
    assertRestError(err, {
      errorCode: 'NUMBER_OUTSIDE_VALID_RANGE',
      message: 'Maximum SOQL offset allowed for apiName User is 2000',
    });
  });

  it('answers an unknown query locator with INVALID_QUERY_LOCATOR', async () => {
    const err = await rejection(conn.queryMore(`/services/data/v${API_VERSION}/query/01gXX0000000000AAA-2000`));
    assertRestError(err, { errorCode: 'INVALID_QUERY_LOCATOR' });
  });
});
