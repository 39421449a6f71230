import { it } from 'node:test';
import assert from 'node:assert/strict';
import { isFormingError, whileJetStreamForms } from './forming.js';

it('the errors of a forming cluster are retried; a configuration error is not', () => {
  assert.equal(isFormingError(Object.assign(new Error('TIMEOUT'), { code: 'TIMEOUT' })), true);
  assert.equal(isFormingError(Object.assign(new Error('503'), { code: '503' })), true);
  assert.equal(isFormingError({ message: 'insufficient resources', api_error: { err_code: 10023 } }), true);
  assert.equal(isFormingError({ message: 'JetStream system temporarily unavailable', api_error: { err_code: 10008 } }), true);
  assert.equal(isFormingError({ message: 'subjects overlap with an existing stream', api_error: { err_code: 10065 } }), false);
  assert.equal(isFormingError(new Error('permissions violation')), false);
});

it('tries again until it works, and stops at once on an error that is not transient', async () => {
  let calls = 0;
  const v = await whileJetStreamForms(async () => {
    calls += 1;
    if (calls < 3) throw Object.assign(new Error('TIMEOUT'), { code: 'TIMEOUT' });
    return 'ok';
  }, { timeoutMs: 5000, what: 'x', firstDelayMs: 1 });
  assert.deepEqual([v, calls], ['ok', 3]);
  calls = 0;
  await assert.rejects(whileJetStreamForms(async () => {
    calls += 1;
    throw new Error('subjects overlap with an existing stream');
  }, { timeoutMs: 5000, what: 'x', firstDelayMs: 1 }), /overlap/);
  assert.equal(calls, 1);
});

it('gives up with the last error once the time is spent', async () => {
  let calls = 0;
  await assert.rejects(whileJetStreamForms(async () => {
    calls += 1;
    throw Object.assign(new Error('503'), { code: '503' });
  }, { timeoutMs: 50, what: 'x', firstDelayMs: 10 }), /503/);
  assert.ok(calls >= 2 && calls < 10, `${calls} attempts`);
});
