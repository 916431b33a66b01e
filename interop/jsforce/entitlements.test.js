// Entitlements through jsforce: the catalog objects (PermissionSet with its licence,
// PermissionSetGroup, PermissionSetLicense with seats, Group of both types), their
// assignments created and deleted through sObject Collections, the licence rules and
// duplicate answers, FROM Group and a semi-join sub-select.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SEED_PROFILE, assertSaved, connectWithClientCredentials, newUser, profileId } from './lib.js';

let conn;
let ids;
let ent;
before(async () => {
  ({ conn } = await connectWithClientCredentials());
  const profile = await profileId(conn, SEED_PROFILE);
  const made = await conn.sobject('User').create([
    newUser(profile, 'ent.ann'), newUser(profile, 'ent.bob'),
  ], { allOrNone: true });
  ids = { ann: assertSaved(made[0], '005'), bob: assertSaved(made[1], '005') };
  ent = {};
  const catalog = [
    "SELECT Id, Name, LicenseId, Type, IsOwnedByProfile FROM PermissionSet WHERE Name LIKE 'Interop_%'",
    "SELECT Id, DeveloperName FROM PermissionSetGroup WHERE DeveloperName LIKE 'Interop_%'",
    "SELECT Id, DeveloperName, TotalLicenses, UsedLicenses FROM PermissionSetLicense WHERE DeveloperName LIKE 'Interop_%'",
    "SELECT Id, DeveloperName, Type FROM Group WHERE DeveloperName LIKE 'Interop_%'",
  ];
  for (const q of catalog) {
    for (const r of (await conn.query(q)).records) {
      ent[r.Name ?? r.DeveloperName] = r;
    }
  }
});

describe('catalog', () => {
  it('reads permission sets with their licence: a permission set licence or a user licence', () => {
    assert.equal(ent.Interop_Licensed.LicenseId, ent.Interop_PSL.Id);
    assert.match(ent.Interop_Platform.LicenseId, /^100/);
    assert.equal(ent.Interop_Plain.LicenseId, null);
    assert.equal(ent.Interop_Plain.IsOwnedByProfile, false);
    assert.equal(ent.Interop_Plain.Type, 'Regular');
  });

  it('reads the licence seats and both group types through FROM Group', () => {
    assert.equal(ent.Interop_PSL.TotalLicenses, 1);
    assert.equal(ent.Interop_PSL.UsedLicenses, 0);
    assert.equal(ent.Interop_Group.Type, 'Regular');
    assert.equal(ent.Interop_Queue.Type, 'Queue');
    assert.match(ent.Interop_Bundle.Id, /^0PG/);
  });
});

describe('assignments through Collections', () => {
  it('refuses a permission set whose licence the user lacks, with the licence message', async () => {
    const [r] = await conn.sobject('PermissionSetAssignment').create([
      { AssigneeId: ids.ann, PermissionSetId: ent.Interop_Licensed.Id },
    ], { allOrNone: false });
    assert.equal(r.success, false);
    assert.equal(r.errors[0].statusCode, 'FIELD_INTEGRITY_EXCEPTION');
    assert.match(r.errors[0].message, /^Can't assign permission set Interop_Licensed to user ent\.ann@interop\.example\. The permission set contains an object that requires a license\./);
  });

  it('assigns the licence, then takes no second seat', async () => {
    const res = await conn.sobject('PermissionSetLicenseAssign').create([
      { AssigneeId: ids.ann, PermissionSetLicenseId: ent.Interop_PSL.Id },
      { AssigneeId: ids.bob, PermissionSetLicenseId: ent.Interop_PSL.Id },
    ], { allOrNone: false });
    assertSaved(res[0], '2LA');
    assert.deepEqual(res[1].errors.map((e) => [e.statusCode, e.message]), [['LICENSE_LIMIT_EXCEEDED', 'License Limit Exceeded']]);
  });

  it('assigns permission sets and groups; a duplicate is "Duplicate PermissionSetAssignment"', async () => {
    const res = await conn.sobject('PermissionSetAssignment').create([
      { AssigneeId: ids.ann, PermissionSetId: ent.Interop_Licensed.Id },
      { AssigneeId: ids.ann, PermissionSetGroupId: ent.Interop_Bundle.Id },
      { AssigneeId: ids.ann, PermissionSetId: ent.Interop_Licensed.Id },
      { AssigneeId: ids.ann, PermissionSetId: ent.Interop_Platform.Id },
    ], { allOrNone: false });
    assertSaved(res[0], '0Pa');
    assertSaved(res[1], '0Pa');
    assert.deepEqual(res[2].errors.map((e) => [e.statusCode, e.message]), [['DUPLICATE_VALUE', 'Duplicate PermissionSetAssignment']]);
    assert.equal(res[3].errors[0].message,
      "Can't assign permission set Interop_Platform to user ent.ann@interop.example. The user license doesn't allow the permission: Interop_Platform");
  });

  it('adds group and queue members; an existing member comes back as itself', async () => {
    const res = await conn.sobject('GroupMember').create([
      { GroupId: ent.Interop_Group.Id, UserOrGroupId: ids.ann },
      { GroupId: ent.Interop_Queue.Id, UserOrGroupId: ids.ann },
      { GroupId: ent.Interop_Group.Id, UserOrGroupId: ids.ann },
    ], { allOrNone: false });
    const first = assertSaved(res[0], '011');
    assertSaved(res[1], '011');
    assert.equal(assertSaved(res[2], '011'), first);
  });

  it('finds the assignees with a semi-join', async () => {
    const res = await conn.query('SELECT Username FROM User WHERE Id IN (SELECT AssigneeId FROM PermissionSetAssignment'
      + ` WHERE PermissionSetGroupId = '${ent.Interop_Bundle.Id}')`);
    assert.deepEqual(res.records.map((r) => r.Username), ['ent.ann@interop.example']);
  });

  it('deletes assignments by Id in one call, freeing the seat', async () => {
    const [members, licences] = await Promise.all([
      conn.query(`SELECT Id FROM GroupMember WHERE UserOrGroupId = '${ids.ann}'`),
      conn.query(`SELECT Id FROM PermissionSetLicenseAssign WHERE AssigneeId = '${ids.ann}'`),
    ]);
    const gone = await conn.sobject('GroupMember').destroy(members.records.map((r) => r.Id), { allOrNone: false });
    assert.deepEqual(gone.map((r) => r.success), [true, true]);
    const pa = await conn.query(`SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = '${ids.ann}'`);
    await conn.sobject('PermissionSetAssignment').destroy(pa.records.map((r) => r.Id), { allOrNone: false });
    await conn.sobject('PermissionSetLicenseAssign').destroy(licences.records.map((r) => r.Id), { allOrNone: false });
    const psl = await conn.query(`SELECT UsedLicenses FROM PermissionSetLicense WHERE Id = '${ent.Interop_PSL.Id}'`);
    assert.equal(psl.records[0].UsedLicenses, 0);
  });
});
