// Bulk API 2.0 query as jsforce drives it: conn.bulk2.query creates a job, polls it
// until JobComplete, and parses the CSV results (Sforce-Locator until "null"); the
// job resources answered as Salesforce documents them; errors and the daily limit.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  API_VERSION, SEED_ROLE, assertId, connectWithClientCredentials, rejection,
  seedHasRole, seedUsername, sim,
} from './lib.js';

const SEEDED_SOQL = "SELECT Id, Username, IsActive, UserRole.Name, CreatedDate FROM User WHERE Username LIKE 'seed.%@interop.example'";
// sfsim's jobs move on when read, so a short interval keeps the test quick.
const POLLING = { pollInterval: 50, pollTimeout: 20000 };

let conn;
before(async () => {
  ({ conn } = await connectWithClientCredentials());
});

// records drains jsforce's record stream.
async function records(stream) {
  const out = [];
  for await (const rec of stream) {
    out.push(rec);
  }
  return out;
}

describe('conn.bulk2.query', () => {
  it('reads every seeded user, as the REST query does', async () => {
    const bulk = await records(await conn.bulk2.query(SEEDED_SOQL, POLLING));
    assert.equal(bulk.length, sim.seededUsers);
    const rest = await conn.query(SEEDED_SOQL).run({ autoFetch: true, maxFetch: 100000 });
    const byId = new Map(rest.records.map((r) => [r.Id, r]));
    for (const rec of bulk) {
      const r = byId.get(rec.Id);
      assert.ok(r, `bulk record ${rec.Id} is not in the REST answer`);
      assert.equal(rec.Username, r.Username);
      // CSV carries text: booleans as true/false, a null parent as "".
      assert.equal(rec.IsActive, String(r.IsActive));
      assert.equal(rec['UserRole.Name'], r.UserRole ? r.UserRole.Name : '');
      // Datetimes in UTC with milliseconds and Z; REST writes +0000.
      assert.match(rec.CreatedDate, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.equal(rec.CreatedDate.replace('Z', '+0000'), r.CreatedDate);
    }
    const usernames = bulk.map((r) => r.Username).sort();
    assert.deepEqual(usernames, Array.from({ length: sim.seededUsers }, (_, i) => seedUsername(i + 1)));
    const withRole = bulk.filter((r) => r['UserRole.Name'] === SEED_ROLE).length;
    assert.equal(withRole, Array.from({ length: sim.seededUsers }, (_, i) => seedHasRole(i + 1)).filter(Boolean).length);
  });

  it('refuses SOQL that does not parse when the job is created', async () => {
    const err = await rejection(conn.bulk2.query('SELECT Nope FROM User', POLLING));
    assert.equal(err.errorCode, 'INVALID_FIELD');
    assert.match(err.message, /No such column 'Nope' on entity 'User'/);
  });
});

describe('the query job resources', () => {
  const jobs = `/jobs/query`;

  it('creates, polls, pages with maxRecords and locator, lists and deletes a job', async () => {
    const created = await conn.requestPost(jobs, {
      operation: 'query', query: "SELECT Username FROM User WHERE Username LIKE 'seed.000%@interop.example'",
    });
    assertId(created.id, '750');
    assert.equal(created.state, 'UploadComplete');
    assert.equal(created.apiVersion, Number(API_VERSION));
    assert.deepEqual(
      [created.operation, created.object, created.contentType, created.columnDelimiter, created.lineEnding, created.concurrencyMode],
      ['query', 'User', 'CSV', 'COMMA', 'LF', 'Parallel'],
    );

    assert.equal((await conn.request(`${jobs}/${created.id}`)).state, 'InProgress');
    const done = await conn.request(`${jobs}/${created.id}`);
    assert.equal(done.state, 'JobComplete');
    assert.equal(done.numberRecordsProcessed, 9);

    // Raw CSV pages: the header row each time, Sforce-Locator until "null".
    const usernames = [];
    let locator = '';
    let sets = 0;
    do {
      const url = `${conn.instanceUrl}/services/data/v${API_VERSION}${jobs}/${created.id}/results?maxRecords=4${locator ? `&locator=${locator}` : ''}`;
      const res = await fetch(url, { headers: { Authorization: `Bearer ${conn.accessToken}`, Accept: 'text/csv' } });
      assert.equal(res.status, 200);
      const lines = (await res.text()).trimEnd().split('\n');
      assert.equal(lines[0], '"Username"');
      assert.equal(res.headers.get('sforce-numberofrecords'), String(lines.length - 1));
      usernames.push(...lines.slice(1).map((l) => l.slice(1, -1)));
      locator = res.headers.get('sforce-locator');
      sets += 1;
    } while (locator !== 'null');
    assert.equal(sets, 3);
    assert.deepEqual(usernames, Array.from({ length: 9 }, (_, i) => seedUsername(i + 1)));

    const listed = await conn.request(jobs);
    assert.equal(listed.done, true);
    assert.ok(listed.records.some((j) => j.id === created.id && j.state === 'JobComplete'));

    await conn.requestDelete(`${jobs}/${created.id}`);
    const gone = await rejection(conn.request(`${jobs}/${created.id}`));
    assert.equal(gone.errorCode, 'NOT_FOUND');
  });

  it('aborts a job and refuses its results', async () => {
    const { id } = await conn.requestPost(jobs, { operation: 'query', query: 'SELECT Id FROM User' });
    const aborted = await conn.requestPatch(`${jobs}/${id}`, { state: 'Aborted' });
    assert.equal(aborted.state, 'Aborted');
    const err = await rejection(conn.request(`${jobs}/${id}/results`));
    assert.equal(err.errorCode, 'JOB_NOT_COMPLETE');
  });

  it('counts jobs against DailyBulkV2QueryJobs', async () => {
    const before = (await conn.limits()).DailyBulkV2QueryJobs;
    await conn.requestPost(jobs, { operation: 'query', query: 'SELECT Id FROM User' });
    const after = (await conn.limits()).DailyBulkV2QueryJobs;
    assert.equal(after.Max, before.Max);
    // Other test files share the org: at least this job was counted.
    assert.ok(after.Remaining < before.Remaining, `${after.Remaining} after ${before.Remaining}`);
  });
});
