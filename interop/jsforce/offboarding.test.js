// A leaver's offboarding through jsforce: their AuthSession rows read and deleted
// (one and many), their OauthToken rows read and revoked through
// /services/oauth2/revoke, their open records handed over with
// Sforce-Auto-Assign: FALSE, and their pending approval reassigned.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  SEED_PROFILE, assertRestError, assertSaved, connectWithClientCredentials, newUser, profileId, rejection, sim,
} from './lib.js';

let conn;
let leaver;
let manager;

// seed adds a record as it would already exist in the org, through sfsim's control
// endpoint (no API call).
async function seed(type, fields) {
  const res = await fetch(`${sim.url}/__sim/records`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type, fields }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()).id;
}

before(async () => {
  ({ conn } = await connectWithClientCredentials());
  const profile = await profileId(conn, SEED_PROFILE);
  leaver = assertSaved(await conn.sobject('User').create(newUser(profile, 'offb.leaver')), '005');
  manager = assertSaved(await conn.sobject('User').create(newUser(profile, 'offb.manager')), '005');
});

describe('sessions', () => {
  let ids;
  before(async () => {
    ids = [
      await seed('AuthSession', { UsersId: leaver, SessionType: 'UI' }),
      await seed('AuthSession', { UsersId: leaver, SessionType: 'Oauth2' }),
      await seed('AuthSession', { UsersId: leaver, SessionType: 'UI' }),
    ];
  });

  it('queries them by UsersId', async () => {
    const res = await conn.query(`SELECT Id, SessionType FROM AuthSession WHERE UsersId = '${leaver}' ORDER BY Id`);
    assert.equal(res.totalSize, 3);
    assert.deepEqual(res.records.map((r) => r.Id), ids);
    assert.equal(res.records[0].attributes.type, 'AuthSession');
  });

  it('deletes one: {id, success, errors}', async () => {
    assert.deepEqual(await conn.sobject('AuthSession').destroy(ids[0]), { id: ids[0], success: true, errors: [] });
  });

  it('deletes several in one Collections call, a deleted one failing on its own', async () => {
    const res = await conn.sobject('AuthSession').destroy(ids, { allOrNone: false });
    assert.equal(res.length, 3);
    assert.equal(res[0].success, false);
    assert.equal(res[0].errors[0].statusCode, 'ENTITY_IS_DELETED');
    assert.deepEqual(res.slice(1), [{ id: ids[1], success: true, errors: [] }, { id: ids[2], success: true, errors: [] }]);
    const left = await conn.query(`SELECT Id FROM AuthSession WHERE UsersId = '${leaver}'`);
    assert.equal(left.totalSize, 0);
  });

  it('refuses a change: 405', async () => {
    const id = await seed('AuthSession', { UsersId: leaver, SessionType: 'UI' });
    const err = await rejection(conn.sobject('AuthSession').update({ Id: id, SessionType: 'X' }));
    assert.equal(err.errorCode, 'METHOD_NOT_ALLOWED');
  });
});

describe('OAuth tokens', () => {
  before(async () => {
    await seed('OauthToken', { UserId: leaver, AppName: 'Salesforce Mobile', DeleteToken: 'offb-delete-token-1' });
  });

  it('queries them by UserId, with the DeleteToken', async () => {
    const res = await conn.query(`SELECT AppName, DeleteToken FROM OauthToken WHERE UserId = '${leaver}'`);
    assert.equal(res.totalSize, 1);
    assert.equal(res.records[0].DeleteToken, 'offb-delete-token-1');
  });

  it('revokes one through /services/oauth2/revoke, which then no longer knows it', async () => {
    await conn.oauth2.revokeToken('offb-delete-token-1');
    const res = await conn.query(`SELECT AppName FROM OauthToken WHERE UserId = '${leaver}'`);
    assert.equal(res.totalSize, 0);
    const err = await rejection(conn.oauth2.revokeToken('offb-delete-token-1'));
    assert.match(err.message, /invalid_token/);
  });
});

describe('ownership transfer', () => {
  let opp;
  let kase;
  let closed;
  let item;
  before(async () => {
    opp = await seed('Opportunity', { Name: 'Deal', StageName: 'Prospecting', OwnerId: leaver });
    closed = await seed('Opportunity', { Name: 'Won', StageName: 'Closed Won', IsClosed: true, OwnerId: leaver });
    kase = await seed('Case', { Subject: 'Broken', OwnerId: leaver });
    item = await seed('ProcessInstanceWorkitem', { ActorId: leaver });
    const res = await fetch(`${sim.url}/__sim/assignment-rules`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ object: 'Case', owner: sim.username }),
    });
    assert.equal(res.status, 200);
  });

  it('finds the open records the leaver owns', async () => {
    const res = await conn.query(`SELECT Id FROM Opportunity WHERE OwnerId = '${leaver}' AND IsClosed = false`);
    assert.deepEqual(res.records.map((r) => r.Id), [opp]);
  });

  it('moves them with Sforce-Auto-Assign: FALSE, so the case assignment rule does not apply', async () => {
    const headers = { 'Sforce-Auto-Assign': 'FALSE' };
    const opps = await conn.sobject('Opportunity').update([{ Id: opp, OwnerId: manager }], { allOrNone: false, headers });
    const cases = await conn.sobject('Case').update([{ Id: kase, OwnerId: manager }], { allOrNone: false, headers });
    assert.deepEqual([...opps, ...cases], [{ id: opp, success: true, errors: [] }, { id: kase, success: true, errors: [] }]);
    const c = await conn.sobject('Case').retrieve(kase);
    assert.equal(c.OwnerId, manager);
    const o = await conn.sobject('Opportunity').retrieve(closed);
    assert.equal(o.OwnerId, leaver);
  });

  it('reassigns the pending approval', async () => {
    await conn.sobject('ProcessInstanceWorkitem').update({ Id: item, ActorId: manager });
    const w = await conn.sobject('ProcessInstanceWorkitem').retrieve(item);
    assert.equal(w.ActorId, manager);
  });

  it('refuses an inactive new owner: INACTIVE_OWNER_OR_USER', async () => {
    const profile = await profileId(conn, SEED_PROFILE);
    const gone = assertSaved(await conn.sobject('User').create(newUser(profile, 'offb.gone')), '005');
    await conn.sobject('User').update({ Id: gone, IsActive: false });
    const err = await rejection(conn.sobject('Opportunity').update({ Id: opp, OwnerId: gone }));
    assertRestError(err, { errorCode: 'INACTIVE_OWNER_OR_USER', message: 'operation performed with inactive user', fields: ['OwnerId'] });
  });
});
