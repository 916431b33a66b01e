// sObject Collections through jsforce: create, update and upsert of several Users in
// one call, with allOrNone false (per-record results with statusCode errors) and true
// (everything rolled back).
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  SEED_PROFILE, assertRestError, assertSaved, connectWithClientCredentials, newUser, profileId,
  rejection, seedFederationId, seedUsername,
} from './lib.js';

const ROLLED_BACK = {
  statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK',
  message: 'Record rolled back because not all records were valid and the request was using AllOrNone header',
  fields: [],
};

let conn;
let users;
let profile;
const seeded = {};
before(async () => {
  ({ conn } = await connectWithClientCredentials());
  users = conn.sobject('User');
  profile = await profileId(conn, SEED_PROFILE);
  const res = await conn.query(
    `SELECT Id, Username, Alias, Email FROM User WHERE Username IN ('${seedUsername(21)}', '${seedUsername(22)}', '${seedUsername(23)}')`,
  );
  for (const r of res.records) seeded[r.Username] = r;
  assert.equal(Object.keys(seeded).length, 3);
});

// usersByEmail returns the Users whose Email starts with prefix, by Email.
async function usersByEmail(prefix, fields = 'Id, Email') {
  const res = await conn.query(`SELECT ${fields} FROM User WHERE Email LIKE '${prefix}%' ORDER BY Email`);
  return res.records;
}

// assertFailure checks one failed per-record result. A failed create has no id; a
// failed update may name the record it was about.
function assertFailure(result, errors, id) {
  const { id: gotId, ...rest } = result;
  if (id === undefined) {
    assert.equal(gotId, undefined, 'a failed create has no id');
  } else if (gotId !== undefined && gotId !== null) {
    assert.equal(gotId, id);
  }
  assert.deepEqual(rest, { success: false, errors });
}

describe('create, allOrNone false', () => {
  let results;
  before(async () => {
    const missingLastName = newUser(profile, 'coll.c3');
    delete missingLastName.LastName;
    results = await users.create([
      newUser(profile, 'coll.c1', { Username: 'Coll.C1@Interop.Example' }),
      newUser(profile, 'coll.c2', { Username: seedUsername(21) }),
      missingLastName,
    ], { allOrNone: false });
  });

  it('answers one result per record, in order', () => {
    assert.equal(results.length, 3);
  });

  it('creates the valid record', () => {
    assertSaved(results[0], '005');
  });

  it('refuses the duplicate Username with a DUPLICATE_USERNAME statusCode', () => {
    const [error] = results[1].errors ?? [];
    assert.match(error?.message ?? '', /^Duplicate Username\./);
    assertFailure(results[1], [{ statusCode: 'DUPLICATE_USERNAME', message: error.message, fields: ['Username'] }]);
  });

  it('refuses the record without LastName with REQUIRED_FIELD_MISSING', () => {
    assertFailure(results[2], [{
      statusCode: 'REQUIRED_FIELD_MISSING',
      message: 'Required fields are missing: [LastName]',
      fields: ['LastName'],
    }]);
  });

  it('holds exactly the valid record afterwards', async () => {
    const found = await usersByEmail('coll.c', 'Id, Username');
    assert.deepEqual(found.map((r) => [r.Id, r.Username]), [[results[0].id, 'coll.c1@interop.example']]);
  });
});

describe('update, allOrNone false', () => {
  let results;
  let created;
  before(async () => {
    [created] = await usersByEmail('coll.c1');
    results = await users.update([
      { Id: created.Id, Title: 'Engineer' },
      { Id: seeded[seedUsername(22)].Id, Alias: 'waytoolongalias' },
      { Id: seeded[seedUsername(23)].Id, Email: 'not-an-email' },
    ], { allOrNone: false });
  });

  it('answers one result per record, in order', () => {
    assert.equal(results.length, 3);
  });

  it('updates the valid record', () => {
    assert.deepEqual(results[0], { id: created.Id, success: true, errors: [] });
  });

  it('refuses the long Alias with STRING_TOO_LONG', () => {
    assertFailure(results[1], [{
      statusCode: 'STRING_TOO_LONG',
      message: 'Alias: data value too large: waytoolongalias (max length=8)',
      fields: ['Alias'],
    }], seeded[seedUsername(22)].Id);
  });

  it('refuses the bad Email with INVALID_EMAIL_ADDRESS', () => {
    assertFailure(results[2], [{
      statusCode: 'INVALID_EMAIL_ADDRESS',
      message: 'Email: invalid email address: not-an-email',
      fields: ['Email'],
    }], seeded[seedUsername(23)].Id);
  });

  it('changed the valid record only', async () => {
    const res = await conn.query(
      `SELECT Id, Username, Title, Alias, Email FROM User WHERE Id IN ('${created.Id}', '${seeded[seedUsername(22)].Id}', '${seeded[seedUsername(23)].Id}') ORDER BY Username`,
    );
    assert.deepEqual(res.records.map((r) => [r.Username, r.Title, r.Alias, r.Email]), [
      ['coll.c1@interop.example', 'Engineer', 'coll.c1', 'coll.c1@interop.example'],
      [seedUsername(22), null, seeded[seedUsername(22)].Alias, seeded[seedUsername(22)].Email],
      [seedUsername(23), null, seeded[seedUsername(23)].Alias, seeded[seedUsername(23)].Email],
    ]);
  });
});

describe('allOrNone true', () => {
  it('rolls a create back when one record fails', async () => {
    const results = await users.create([
      newUser(profile, 'coll.r1'),
      newUser(profile, 'coll.r2', { Email: 'not-an-email' }),
      newUser(profile, 'coll.r3'),
    ], { allOrNone: true });
    assert.equal(results.length, 3);
    assertFailure(results[0], [ROLLED_BACK]);
    assertFailure(results[1], [{
      statusCode: 'INVALID_EMAIL_ADDRESS',
      message: 'Email: invalid email address: not-an-email',
      fields: ['Email'],
    }]);
    assertFailure(results[2], [ROLLED_BACK]);
    const found = await conn.query("SELECT Id FROM User WHERE Username LIKE 'coll.r%'");
    assert.equal(found.totalSize, 0, 'nothing created');
  });

  it('rolls an update back when one record fails', async () => {
    const [created] = await usersByEmail('coll.c1');
    const target = seeded[seedUsername(22)];
    const results = await users.update([
      { Id: created.Id, Title: 'Manager' },
      { Id: target.Id, Alias: 'waytoolongalias' },
    ], { allOrNone: true });
    assert.equal(results.length, 2);
    assertFailure(results[0], [ROLLED_BACK], created.Id);
    assertFailure(results[1], [{
      statusCode: 'STRING_TOO_LONG',
      message: 'Alias: data value too large: waytoolongalias (max length=8)',
      fields: ['Alias'],
    }], target.Id);
    const after = await users.retrieve(created.Id, { fields: ['Title'] });
    assert.equal(after.Title, 'Engineer', 'the valid change was rolled back');
  });

  it('commits every record when all are valid', async () => {
    const results = await users.create([
      newUser(profile, 'coll.a1'),
      newUser(profile, 'coll.a2'),
    ], { allOrNone: true });
    assert.deepEqual(results.map((r) => [r.success, r.errors]), [[true, []], [true, []]]);
    const found = await usersByEmail('coll.a');
    assert.deepEqual(found.map((r) => r.Id), results.map((r) => r.id));
  });
});

describe('upsert by FederationIdentifier', () => {
  it('creates and updates in one call, saying which', async () => {
    const results = await users.upsert([
      newUser(profile, 'coll.u1', { FederationIdentifier: 'fed-coll-u1' }),
      { FederationIdentifier: seedFederationId(24), Title: 'Upserted' },
    ], 'FederationIdentifier', { allOrNone: false });
    assert.equal(results.length, 2);
    assertSaved(results[0], '005', { created: true });
    const seededUser = await conn.query(`SELECT Id, Title FROM User WHERE Username = '${seedUsername(24)}'`);
    assert.deepEqual(results[1], { id: seededUser.records[0].Id, success: true, errors: [], created: false });
    assert.equal(seededUser.records[0].Title, 'Upserted');
  });
});

describe('delete', () => {
  it('refuses to delete users record by record, and keeps them', async () => {
    const ids = [seeded[seedUsername(21)].Id, seeded[seedUsername(22)].Id];
    const results = await users.destroy(ids);
    assert.equal(results.length, 2);
    results.forEach((r, i) => {
      assert.equal(r.success, false);
      if (r.id !== undefined && r.id !== null) assert.equal(r.id, ids[i]);
      assert.equal(r.errors.length, 1);
      assert.match(r.errors[0].statusCode, /^[A-Z_]+$/);
      assert.equal(typeof r.errors[0].message, 'string');
    });
    const left = await conn.query(`SELECT Id FROM User WHERE Id IN ('${ids.join("', '")}')`);
    assert.equal(left.totalSize, 2);
  });
});

describe('request limits', () => {
  it('refuses more than 200 records with a 400', async () => {
    const records = Array.from({ length: 201 }, (_, i) => newUser(profile, `coll.big${i}`));
    const err = await rejection(users.create(records, { allOrNone: false }));
    assertRestError(err, { errorCode: 'EXCEEDED_ID_LIMIT' });
    const found = await conn.query("SELECT Id FROM User WHERE Username LIKE 'coll.big%'");
    assert.equal(found.totalSize, 0);
  });
});

