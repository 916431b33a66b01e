// Single-record User writes through jsforce's SObject API: create, retrieve, update,
// upsert by FederationIdentifier, the refused delete, and the validation errors.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  API_VERSION, DATETIME, SEED_PROFILE, assertId, assertRestError, assertSaved, connectWithClientCredentials,
  idChecksum, newUser, profileId, recordUrl, rejection, seedFederationId, seedUsername,
} from './lib.js';

// REQUIRED_FIELDS are the nine fields Salesforce names for an empty User create.
const REQUIRED_FIELDS = [
  'Alias', 'Email', 'EmailEncodingKey', 'LanguageLocaleKey', 'LastName', 'LocaleSidKey',
  'ProfileId', 'TimeZoneSidKey', 'Username',
];

let conn;
let users;
let profile;
before(async () => {
  ({ conn } = await connectWithClientCredentials());
  users = conn.sobject('User');
  profile = await profileId(conn, SEED_PROFILE);
});

describe('create and read', () => {
  let id;

  it('creates a user: 201 {id, success, errors}', async () => {
    const res = await users.create(newUser(profile, 'single.one', { Username: 'Single.One@Interop.Example' }));
    id = assertSaved(res, '005');
  });

  it('retrieves it by 18-character Id, Username lower-cased and defaults filled', async () => {
    const r = await users.retrieve(id);
    assert.deepEqual(r.attributes, { type: 'User', url: recordUrl('User', id) });
    assert.equal(r.Id, id);
    assert.equal(r.Username, 'single.one@interop.example');
    assert.equal(r.LastName, 'Last single.one');
    assert.equal(r.IsActive, true);
    assert.equal(r.ProfileId, profile);
    assert.equal(r.UserType, 'Standard');
    assert.equal(typeof r.CommunityNickname, 'string');
    assert.notEqual(r.CommunityNickname, '');
    assert.equal(r.LastLoginDate, null);
    assert.match(r.CreatedDate, DATETIME);
    assert.match(r.SystemModstamp, DATETIME);
  });

  it('retrieves it by 15-character Id', async () => {
    const r = await users.retrieve(id.slice(0, 15));
    assert.equal(r.Id, id);
  });

  it('retrieves only the fields asked for', async () => {
    const r = await users.retrieve(id, { fields: ['Username', 'Email'] });
    const { attributes, Id, ...fields } = r;
    assert.deepEqual(attributes, { type: 'User', url: recordUrl('User', id) });
    if (Id !== undefined) assert.equal(Id, id);
    assert.deepEqual(fields, { Username: 'single.one@interop.example', Email: 'single.one@interop.example' });
  });

  it('retrieves several records in one Collections call, null for an unknown Id', async () => {
    const seed = await conn.query(`SELECT Id FROM User WHERE Username = '${seedUsername(1)}'`);
    const seedId = seed.records[0].Id;
    const unknown = `005000000000002${idChecksum('005000000000002')}`;
    const records = await users.retrieve([id, unknown, seedId], { fields: ['Username', 'IsActive'] });
    assert.equal(records.length, 3);
    assert.equal(records[1], null);
    const strip = ({ attributes, Id, ...rest }) => ({ attributes, ...rest });
    assert.deepEqual([records[0], records[2]].map(strip), [
      { attributes: { type: 'User', url: recordUrl('User', id) }, Username: 'single.one@interop.example', IsActive: true },
      { attributes: { type: 'User', url: recordUrl('User', seedId) }, Username: seedUsername(1), IsActive: true },
    ]);
  });

  it('updates it: 204, which jsforce turns into {id, success, errors}', async () => {
    const res = await users.update({ Id: id, Title: 'Engineer', Department: 'R&D' });
    assert.deepEqual(res, { id, success: true, errors: [] });
    const r = await users.retrieve(id, { fields: ['Title', 'Department'] });
    assert.deepEqual([r.Title, r.Department], ['Engineer', 'R&D']);
  });

  it('deactivates it with IsActive false', async () => {
    const res = await users.update({ Id: id, IsActive: false });
    assert.deepEqual(res, { id, success: true, errors: [] });
    const r = await users.retrieve(id, { fields: ['IsActive'] });
    assert.equal(r.IsActive, false);
  });

  it('refuses to delete a user with a Salesforce-shaped error and keeps it', async () => {
    const err = await rejection(users.destroy(id));
    assert.match(err.errorCode, /^[A-Z_]+$/);
    assert.doesNotMatch(err.errorCode, /^ERROR_HTTP_/, `not a JSON error array: ${err.message}`);
    assert.equal(err.data.errorCode, err.errorCode);
    const r = await users.retrieve(id, { fields: ['Id'] });
    assert.equal(r.Id, id);
  });

  it('answers an unknown Id with NOT_FOUND', async () => {
    const unknown = `005000000000001`;
    const err = await rejection(users.retrieve(unknown + idChecksum(unknown)));
    assertRestError(err, { errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' });
  });

  it('answers a malformed Id with MALFORMED_ID or NOT_FOUND', async () => {
    const err = await rejection(users.retrieve('not-an-id'));
    assert.ok(['MALFORMED_ID', 'NOT_FOUND'].includes(err.errorCode), `got ${err.errorCode}`);
  });
});

describe('validation on create', () => {
  const cases = [
    {
      name: 'a Username taken in the org',
      user: () => newUser(profile, 'dup.single', { Username: seedUsername(1).toUpperCase() }),
      errorCode: 'DUPLICATE_USERNAME',
      message: /^Duplicate Username\./,
      fields: ['Username'],
    },
    {
      name: 'an Alias over 8 characters',
      user: () => newUser(profile, 'long.alias', { Alias: 'jonathans' }),
      errorCode: 'STRING_TOO_LONG',
      message: 'Alias: data value too large: jonathans (max length=8)',
      fields: ['Alias'],
    },
    {
      name: 'a malformed Email',
      user: () => newUser(profile, 'bad.email', { Email: 'not-an-email' }),
      errorCode: 'INVALID_EMAIL_ADDRESS',
      message: 'Email: invalid email address: not-an-email',
      fields: ['Email'],
    },
    {
      name: 'a FederationIdentifier already in use',
      user: () => newUser(profile, 'dup.fed', { FederationIdentifier: seedFederationId(2) }),
      errorCode: 'DUPLICATE_VALUE',
      message: /^duplicate value found: FederationIdentifier duplicates value on record with id: 005/,
    },
    {
      name: 'a ProfileId that points nowhere',
      user: () => newUser(profile, 'no.profile', { ProfileId: `00e000000000009${idChecksum('00e000000000009')}` }),
      errorCode: 'INVALID_CROSS_REFERENCE_KEY',
    },
    {
      name: 'a time zone outside the restricted picklist',
      user: () => newUser(profile, 'bad.tz', { TimeZoneSidKey: 'Mars/Olympus_Mons' }),
      errorCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
      message: /Mars\/Olympus_Mons/,
      fields: ['TimeZoneSidKey'],
    },
    {
      name: 'a missing LastName',
      user: () => { const u = newUser(profile, 'no.last'); delete u.LastName; return u; },
      errorCode: 'REQUIRED_FIELD_MISSING',
      message: 'Required fields are missing: [LastName]',
      fields: ['LastName'],
    },
    {
      name: 'an unknown field',
      user: () => newUser(profile, 'unknown.field', { Shoesize__c: 44 }),
      errorCode: 'INVALID_FIELD',
      message: /Shoesize__c/,
    },
  ];
  for (const { name, user, ...want } of cases) {
    it(`refuses ${name} with ${want.errorCode}`, async () => {
      const u = user();
      const err = await rejection(users.create(u));
      assertRestError(err, want);
      const left = await conn.query(`SELECT Id FROM User WHERE Email = '${u.Email}'`);
      assert.equal(left.totalSize, 0, 'nothing half-written');
    });
  }

  it('refuses an empty User naming all nine required fields', async () => {
    const err = await rejection(users.create({}));
    assert.equal(err.errorCode, 'REQUIRED_FIELD_MISSING');
    assert.deepEqual([...err.data.fields].sort(), REQUIRED_FIELDS);
    assert.match(err.message, /^Required fields are missing: \[.+\]$/);
    for (const f of REQUIRED_FIELDS) assert.ok(err.message.includes(f), `message lacks ${f}`);
  });
});

describe('bad requests', () => {
  let seedId;
  before(async () => {
    const res = await conn.query(`SELECT Id FROM User WHERE Username = '${seedUsername(12)}'`);
    seedId = res.records[0].Id;
  });

  it('answers a body that is not JSON with JSON_PARSER_ERROR', async () => {
    const err = await rejection(conn.request({
      method: 'POST', url: '/sobjects/User', body: '{not json', headers: { 'content-type': 'application/json' },
    }));
    assertRestError(err, { errorCode: 'JSON_PARSER_ERROR' });
  });

  it('answers a value of the wrong JSON type with JSON_PARSER_ERROR', async () => {
    const err = await rejection(users.update({ Id: seedId, IsActive: 'yes' }));
    assertRestError(err, { errorCode: 'JSON_PARSER_ERROR' });
  });

  it('refuses to write a read-only field with INVALID_FIELD_FOR_INSERT_UPDATE', async () => {
    const err = await rejection(users.update({ Id: seedId, CreatedDate: '2020-01-01T00:00:00.000+0000' }));
    assertRestError(err, { errorCode: 'INVALID_FIELD_FOR_INSERT_UPDATE', message: /CreatedDate/, fields: ['CreatedDate'] });
  });

  it('refuses an unknown field on update with INVALID_FIELD', async () => {
    const err = await rejection(users.update({ Id: seedId, Shoesize__c: 44 }));
    assertRestError(err, { errorCode: 'INVALID_FIELD', message: /Shoesize__c/ });
  });

  it('answers a query on an unknown object with INVALID_TYPE', async () => {
    const err = await rejection(conn.query('SELECT Id FROM Spaceship'));
    assertRestError(err, { errorCode: 'INVALID_TYPE', message: /sObject type 'Spaceship' is not supported/ });
  });

  it('answers an unknown sObject resource with NOT_FOUND', async () => {
    const err = await rejection(conn.sobject('Spaceship').create({ Name: 'x' }));
    assertRestError(err, { errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' });
  });

  it('left the user untouched', async () => {
    const r = await users.retrieve(seedId, { fields: ['IsActive', 'CreatedDate'] });
    assert.equal(r.IsActive, true);
    assert.notEqual(r.CreatedDate, '2020-01-01T00:00:00.000+0000');
  });
});

describe('upsert by FederationIdentifier', () => {
  let id;

  it('creates when nothing matches: 201 created true', async () => {
    const { FederationIdentifier, ...rest } = newUser(profile, 'upsert.one', { FederationIdentifier: 'fed-upsert-1' });
    const res = await users.upsert({ FederationIdentifier, ...rest }, 'FederationIdentifier');
    id = assertSaved(res, '005', { created: true });
  });

  it('updates when one matches: 200 created false', async () => {
    const res = await users.upsert({ FederationIdentifier: 'fed-upsert-1', Title: 'Lead' }, 'FederationIdentifier');
    assert.deepEqual(res, { id, success: true, errors: [], created: false });
    const r = await users.retrieve(id, { fields: ['Title', 'FederationIdentifier'] });
    assert.deepEqual([r.Title, r.FederationIdentifier], ['Lead', 'fed-upsert-1']);
  });

  it('updates a seeded user found by its FederationIdentifier', async () => {
    const res = await users.upsert({ FederationIdentifier: seedFederationId(4), Department: 'Ops' }, 'FederationIdentifier');
    assert.equal(res.created, false);
    const r = await conn.query(`SELECT Id, Department FROM User WHERE Username = '${seedUsername(4)}'`);
    assert.deepEqual([r.records[0].Id, r.records[0].Department], [res.id, 'Ops']);
  });

  it('answers an update with 204 before v46.0, which jsforce turns into {success, errors}', async () => {
    const { conn: old } = await connectWithClientCredentials(undefined, '45.0');
    const res = await old.sobject('User').upsert({ FederationIdentifier: 'fed-upsert-1', Title: 'Old API' }, 'FederationIdentifier');
    assert.deepEqual(res, { success: true, errors: [] });
    const r = await users.retrieve(id, { fields: ['Title'] });
    assert.equal(r.Title, 'Old API');
  });

  it('refuses an insert that misses required fields, writing nothing', async () => {
    const err = await rejection(users.upsert({ FederationIdentifier: 'fed-upsert-2', Title: 'X' }, 'FederationIdentifier'));
    assert.equal(err.errorCode, 'REQUIRED_FIELD_MISSING');
    const r = await conn.query("SELECT Id FROM User WHERE FederationIdentifier = 'fed-upsert-2'");
    assert.equal(r.totalSize, 0);
  });
});

describe('org rules from the seed', () => {
  it('refuses a username taken in another org with DUPLICATE_USERNAME', async () => {
    const err = await rejection(users.create(newUser(profile, 'taken', { Username: 'taken@elsewhere.example' })));
    assertRestError(err, { errorCode: 'DUPLICATE_USERNAME', message: /^Duplicate Username\./, fields: ['Username'] });
  });

  it('answers an upsert matching several records with 300, which jsforce refuses', async () => {
    const err = await rejection(users.upsert({ FederationIdentifier: 'fed-twin', Title: 'X' }, 'FederationIdentifier'));
    assert.equal(err.errorCode, 'MULTIPLE_CHOICES');
    assert.equal(err.message, 'Multiple records found');
    const twins = await conn.query("SELECT Id, Title FROM User WHERE FederationIdentifier = 'fed-twin'");
    assert.equal(twins.totalSize, 2);
    // The 300 body lists the matching records' URLs.
    assert.deepEqual([...err.data].sort(), twins.records.map((r) => recordUrl('User', r.Id)).sort());
    assert.deepEqual(twins.records.map((r) => r.Title), [null, null], 'neither twin changed');
  });

  it('refuses to deactivate a user wired into org configuration', async () => {
    const res = await conn.query("SELECT Id FROM User WHERE Username = 'case.owner@interop.example'");
    const [{ Id: id }] = res.records;
    const err = await rejection(users.update({ Id: id, IsActive: false }));
    assertRestError(err, {
      errorCode: 'FIELD_INTEGRITY_EXCEPTION',
      message: /You cannot deactivate a user who is the default owner of cases/,
    });
    const after = await users.retrieve(id, { fields: ['IsActive'] });
    assert.equal(after.IsActive, true);
  });

  it('counts license seats: LICENSE_LIMIT_EXCEEDED when full, freed by deactivation', async () => {
    const oneSeat = await profileId(conn, 'Interop One Seat User');
    const first = await users.create(newUser(oneSeat, 'seat.one'));
    assertSaved(first, '005');
    const err = await rejection(users.create(newUser(oneSeat, 'seat.two')));
    assertRestError(err, { errorCode: 'LICENSE_LIMIT_EXCEEDED', message: 'License Limit Exceeded' });

    await users.update({ Id: first.id, IsActive: false });
    const second = await users.create(newUser(oneSeat, 'seat.two'));
    assertSaved(second, '005');
    const back = await rejection(users.update({ Id: first.id, IsActive: true }));
    assertRestError(back, { errorCode: 'LICENSE_LIMIT_EXCEEDED' });
  });
});

describe('freezing', () => {
  it('freezes a user through UserLogin', async () => {
    const user = await conn.query(`SELECT Id FROM User WHERE Username = '${seedUsername(11)}'`);
    const userId = user.records[0].Id;
    const find = () => conn.query(`SELECT Id, UserId, IsFrozen FROM UserLogin WHERE UserId = '${userId}'`);
    const before = await find();
    assert.equal(before.totalSize, 1);
    const [login] = before.records;
    assertId(login.Id, '060');
    assert.deepEqual([login.UserId, login.IsFrozen], [userId, false]);

    const res = await conn.sobject('UserLogin').update({ Id: login.Id, IsFrozen: true });
    assert.deepEqual(res, { id: login.Id, success: true, errors: [] });
    const after = await find();
    assert.equal(after.records[0].IsFrozen, true);
  });
});

describe('get updated', () => {
  it('lists the Ids written in a window, as jsforce formats its dates', async () => {
    const end = new Date();
    const res = await users.updated(new Date(end.getTime() - 24 * 3600 * 1000), end);
    assert.deepEqual(Object.keys(res).sort(), ['ids', 'latestDateCovered']);
    assert.ok(Array.isArray(res.ids));
    for (const id of res.ids) assertId(id, '005');
    assert.match(res.latestDateCovered, DATETIME);
    assert.ok(Date.parse(res.latestDateCovered.replace('+0000', 'Z')) <= end.getTime());
  });

  it('refuses a window starting more than 30 days back with INVALID_REPLICATION_DATE', async () => {
    const end = new Date();
    const err = await rejection(users.updated(new Date(end.getTime() - 31 * 24 * 3600 * 1000), end));
    assertRestError(err, { errorCode: 'INVALID_REPLICATION_DATE' });
  });
});

describe('describe', () => {
  it('describes User with the field types and lengths clients read', async () => {
    const d = await users.describe();
    assert.equal(d.name, 'User');
    assert.equal(d.keyPrefix, '005');
    const field = (name) => {
      const f = d.fields.find((x) => x.name === name);
      assert.ok(f, `no field ${name}`);
      return f;
    };
    const pick = (name, keys) => Object.fromEntries(keys.map((k) => [k, field(name)[k]]));
    assert.deepEqual(pick('Id', ['type', 'length']), { type: 'id', length: 18 });
    assert.deepEqual(pick('Username', ['type', 'length', 'idLookup']), { type: 'string', length: 80, idLookup: true });
    assert.deepEqual(pick('Email', ['type', 'length', 'idLookup']), { type: 'email', length: 128, idLookup: true });
    assert.deepEqual(pick('Alias', ['type', 'length']), { type: 'string', length: 8 });
    assert.deepEqual(pick('FederationIdentifier', ['type', 'length', 'idLookup']), { type: 'string', length: 512, idLookup: true });
    assert.deepEqual(pick('ProfileId', ['type', 'referenceTo', 'relationshipName']), { type: 'reference', referenceTo: ['Profile'], relationshipName: 'Profile' });
    assert.deepEqual(pick('IsActive', ['type']), { type: 'boolean' });
    assert.deepEqual(pick('TimeZoneSidKey', ['type']), { type: 'picklist' });
    assert.deepEqual(pick('CreatedDate', ['type', 'createable', 'updateable']), { type: 'datetime', createable: false, updateable: false });
  });

  it('lists User in the global describe', async () => {
    const g = await conn.describeGlobal();
    const user = g.sobjects.find((o) => o.name === 'User');
    assert.ok(user, 'User not listed');
    assert.equal(user.keyPrefix, '005');
  });

  it('retrieves several records with every field, as jsforce does after a describe', async () => {
    const seed = await conn.query(`SELECT Id FROM User WHERE Username IN ('${seedUsername(1)}', '${seedUsername(2)}') ORDER BY Username`);
    const ids = seed.records.map((r) => r.Id);
    const records = await users.retrieve(ids);
    assert.deepEqual(records.map((r) => [r.Id, r.Username, r.FederationIdentifier]), [
      [ids[0], seedUsername(1), seedFederationId(1)],
      [ids[1], seedUsername(2), seedFederationId(2)],
    ]);
  });
});

describe('versions', () => {
  it('lists API versions without Sforce-Limit-Info', async () => {
    conn.limitInfo = {};
    const versions = await conn.request('/services/data/');
    assert.ok(Array.isArray(versions));
    const mine = versions.find((v) => v.version === API_VERSION);
    assert.ok(mine, `v${API_VERSION} not listed`);
    assert.equal(mine.url, `/services/data/v${API_VERSION}`);
    assert.equal(typeof mine.label, 'string');
    assert.deepEqual(conn.limitInfo, {}, 'the versions list carries no Sforce-Limit-Info');
  });
});
