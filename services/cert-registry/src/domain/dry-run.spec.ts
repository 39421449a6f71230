// The dry run's input and rate, given-when-then with time passed in (the route is tested end to end in
// test/e2e/dry-run.e2e.spec.ts).
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { DRY_RUN_MAX_CERTIFICATES } from '@twoway/contracts';
import { createRootCa, issueDeviceCert, type Issued } from '@twoway/pki';
import { DryRunLimiter } from './dry-run-limiter.js';
import { dryRunChain } from './dry-run-input.js';

describe('dryRunChain', () => {
  let dev: Issued;
  let root: Issued;
  before(async () => {
    root = await createRootCa({ commonName: 'Dry Root' });
    dev = await issueDeviceCert({ issuer: root, commonName: 'sensor-17' });
  });
  const refused = (code: string, message: RegExp) => (e: unknown) => (assert.equal((e as { code: string }).code, code), assert.match((e as Error).message, message), true);

  it('given no chain or only blanks, then the device presents none', () => {
    assert.deepEqual(dryRunChain(undefined), []);
    assert.deepEqual(dryRunChain(' \n'), []);
  });
  it('given a chain file, then its certificates in the order sent, the leaf first', () => {
    assert.deepEqual(dryRunChain(dev.certPem + root.certPem).map((c) => c.subject), ['CN=sensor-17', 'CN=Dry Root']);
  });
  it('given a private key anywhere, then CERT_PRIVATE_KEY_REJECTED and nothing else is read', () => {
    assert.throws(() => dryRunChain(dev.certPem + dev.keyPem), refused('CERT_PRIVATE_KEY_REJECTED', /private key/));
  });
  it('given a damaged block, then CERT_PEM_INVALID naming it', () => {
    assert.throws(() => dryRunChain(`${dev.certPem}-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n`), refused('CERT_PEM_INVALID', /block 2/));
  });
  it(`given more than ${DRY_RUN_MAX_CERTIFICATES} certificates, then BAD_REQUEST saying how many`, () => {
    assert.equal(dryRunChain(dev.certPem.repeat(DRY_RUN_MAX_CERTIFICATES)).length, DRY_RUN_MAX_CERTIFICATES);
    assert.throws(() => dryRunChain(dev.certPem.repeat(DRY_RUN_MAX_CERTIFICATES + 1)), refused('BAD_REQUEST', /11 certificates; a dry run takes at most 10/));
  });
});

describe('DryRunLimiter', () => {
  it('given a token at its bound, then refused until its window ends, saying how long; other tokens are not held back', () => {
    const l = new DryRunLimiter(2, 60_000);
    assert.deepEqual([l.take('a', 0), l.take('a', 1_000)], [{ ok: true }, { ok: true }]);
    assert.deepEqual(l.take('a', 15_000), { ok: false, retryAfterMs: 45_000 });
    assert.deepEqual(l.take('b', 15_000), { ok: true });
    assert.deepEqual(l.take('a', 60_000), { ok: true }, 'a new window');
  });
  it('given a bound of 0, then every dry run is refused', () => {
    assert.equal(new DryRunLimiter(0).take('a', 0).ok, false);
  });
  it('given more tokens than it remembers, then the least recently seen leaves and starts afresh (memory stays bounded)', () => {
    const l = new DryRunLimiter(1, 60_000, 2);
    l.take('a', 0);
    l.take('b', 0);
    l.take('c', 0);
    assert.equal(l.take('a', 1).ok, true, "a's window was forgotten");
    assert.equal(l.take('c', 1).ok, false);
  });
});
