// sfsim's injected faults as a real client meets them: jsforce retries a GET answered
// 503 or cut off, and surfaces UNABLE_TO_LOCK_ROW, 503 and dropped connections on
// writes (which it never retries) with their codes, nothing written.
//
// Faults are queued through sfsim's test-only control path, /__sim/faults, matched by
// path prefix. Only this file uses API version FAULT_VERSION, so the faults hit only
// its requests although the other files share the server.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  SEED_PROFILE, connectWithClientCredentials, newUser, profileId, rejection, sim,
} from './lib.js';

const FAULT_VERSION = '63.0';
const FAULT_PREFIX = `/services/data/v${FAULT_VERSION}/`;

// injectFault queues one fault rule limited to this file's requests.
async function injectFault(rule) {
  const res = await fetch(`${sim.url}/__sim/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ pathPrefix: FAULT_PREFIX, ...rule }),
  });
  assert.equal(res.status, 200, `queue fault: ${await res.text()}`);
}

let conn;
let profile;
before(async () => {
  ({ conn } = await connectWithClientCredentials(sim.url, FAULT_VERSION));
  profile = await profileId(conn, SEED_PROFILE);
});

// assertNoFaultLeft proves the faults queued were all spent by the jsforce call before
// it: a plain request under the same prefix gets a normal answer.
async function assertNoFaultLeft() {
  const res = await fetch(`${sim.url}${FAULT_PREFIX}limits`, {
    headers: { authorization: `Bearer ${conn.accessToken}` },
  });
  assert.equal(res.status, 200, 'a queued fault was left unspent');
  await res.arrayBuffer();
}

// assertNotCreated checks that no user with this Email exists.
async function assertNotCreated(email) {
  const res = await conn.query(`SELECT Id FROM User WHERE Email = '${email}'`);
  assert.equal(res.totalSize, 0, `${email} was written`);
}

describe('faults on reads, which jsforce retries', () => {
  it('gets the answer after two 503 SERVER_UNAVAILABLE', async () => {
    await injectFault({
      method: 'GET', count: 2,
      fault: { status: 503, errorCode: 'SERVER_UNAVAILABLE', message: 'Server temporarily unavailable.' },
    });
    const res = await conn.query(`SELECT Name FROM Profile WHERE Name = '${SEED_PROFILE}'`);
    assert.deepEqual(res.records.map((r) => r.Name), [SEED_PROFILE]);
    await assertNoFaultLeft();
  });

  it('gets the answer after a dropped connection', async () => {
    await injectFault({ method: 'GET', fault: { drop: true } });
    const res = await conn.query(`SELECT Name FROM Profile WHERE Name = '${SEED_PROFILE}'`);
    assert.deepEqual(res.records.map((r) => r.Name), [SEED_PROFILE]);
    await assertNoFaultLeft();
  });
});

describe('faults on writes, which jsforce does not retry', () => {
  it('surfaces UNABLE_TO_LOCK_ROW on a Collections create', async () => {
    await injectFault({
      method: 'POST',
      fault: {
        status: 500, errorCode: 'UNABLE_TO_LOCK_ROW',
        message: 'unable to obtain exclusive access to this record or 1 records: 005000000000000AAA',
      },
    });
    const err = await rejection(conn.sobject('User').create([
      newUser(profile, 'fault.lock1'), newUser(profile, 'fault.lock2'),
    ]));
    assert.equal(err.errorCode, 'UNABLE_TO_LOCK_ROW');
    assert.match(err.message, /^unable to obtain exclusive access to this record/);
    await assertNotCreated('fault.lock1@interop.example');
  });

  it('surfaces 503 SERVER_UNAVAILABLE on an update', async () => {
    await injectFault({
      method: 'PATCH',
      fault: { status: 503, errorCode: 'SERVER_UNAVAILABLE', message: 'Server temporarily unavailable.' },
    });
    const created = await conn.sobject('User').create(newUser(profile, 'fault.patch'));
    const err = await rejection(conn.sobject('User').update({ Id: created.id, Title: 'Never' }));
    assert.equal(err.errorCode, 'SERVER_UNAVAILABLE');
    const after = await conn.sobject('User').retrieve(created.id, { fields: ['Title'] });
    assert.equal(after.Title, null);
  });

  it('surfaces a dropped connection on a create as a network error', async () => {
    await injectFault({ method: 'POST', fault: { drop: true } });
    const err = await rejection(conn.sobject('User').create(newUser(profile, 'fault.drop')));
    assert.equal(err.name, 'FetchError', `${err.name}: ${err.message}`);
    assert.equal(err.code, 'ECONNRESET');
    await assertNotCreated('fault.drop@interop.example');
  });
});
