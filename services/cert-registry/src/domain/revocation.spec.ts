// CRL replacement, serial diffs, distribution-point URLs and the fetch schedule, given-when-then.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkDistributionPointUrl, CRL_RETRY_FIRST_MS, diffSerials, nextFetchAfterFailure, nextFetchAfterSuccess, planCrlReplacement, type CrlVersion } from './revocation.js';

const at = (s: string) => new Date(`2026-03-0${s}T00:00:00Z`);
const v = (fingerprint: string, day: string, number?: bigint): CrlVersion => ({ fingerprint, thisUpdate: at(day), number });

describe('planCrlReplacement', () => {
  const table: [string, CrlVersion | undefined, CrlVersion, string, RegExp?][] = [
    ['nothing stored', undefined, v('a', '1', 1n), 'store'],
    ['the stored CRL again', v('a', '1', 1n), v('a', '1', 1n), 'unchanged'],
    ['a newer number and date', v('a', '1', 1n), v('b', '2', 2n), 'store'],
    ['a newer date without numbers', v('a', '1'), v('b', '2'), 'store'],
    ['a newer date, the number dropped', v('a', '1', 5n), v('b', '2'), 'store'],
    ['an older thisUpdate', v('a', '2', 2n), v('b', '1', 3n), 'refuse', /thisUpdate .* is older/],
    ['a lower number', v('a', '1', 5n), v('b', '2', 4n), 'refuse', /cRLNumber 4 is lower than the stored CRL's \(5\)/],
    ['the same number, other content', v('a', '1', 5n), v('b', '2', 5n), 'refuse', /issues each number once/],
    ['the same date, other content, no numbers', v('a', '1'), v('b', '1'), 'refuse', /same|stored CRL's thisUpdate/],
  ];
  for (const [given, stored, next, action, detail] of table) {
    it(`given ${given}: ${action}`, () => {
      const r = planCrlReplacement(stored, next);
      assert.equal(r.action, action);
      if (detail && r.action === 'refuse') assert.match(r.detail, detail);
    });
  }
});

describe('diffSerials', () => {
  it('adds what is new and removes what is gone', () => {
    assert.deepEqual(diffSerials(new Set(['1', '2', '3']), ['2', '3', '4']), { added: ['4'], removed: ['1'] });
  });
});

describe('checkDistributionPointUrl', () => {
  const table: [string, boolean, RegExp?][] = [
    ['http://crl.example.com/ca.crl', true],
    ['https://pki.example.com:8443/crl/root.crl?x=1', true],
    ['ftp://crl.example.com/ca.crl', false, /only http and https/],
    ['ldap://ldap.example.com/cn=CA?certificateRevocationList', false, /only http and https/],
    ['file:///etc/passwd', false, /only http and https/],
    ['https://user:secret@crl.example.com/ca.crl', false, /user name or password/],
    ['not a url', false, /is not a URL/],
  ];
  for (const [url, ok, problem] of table) {
    it(`${ok ? 'accepts' : 'refuses'} ${url}`, () => {
      const r = checkDistributionPointUrl(url);
      assert.equal(r.ok, ok);
      if (!r.ok && problem) assert.match(r.problem, problem);
    });
  }
});

describe('fetch schedule', () => {
  const hour = 3_600_000;
  it('after failures: from 30 s, doubling, never beyond the interval', () => {
    assert.deepEqual([1, 2, 3, 10].map((f) => nextFetchAfterFailure(f, hour, 0).getTime()), [CRL_RETRY_FIRST_MS, 2 * CRL_RETRY_FIRST_MS, 4 * CRL_RETRY_FIRST_MS, hour]);
    assert.equal(nextFetchAfterFailure(1, 5_000, 0).getTime(), 5_000, 'a short interval bounds the first retry too');
  });
  it('after a success: the interval, or the nextUpdate when that comes first (not sooner than the first retry)', () => {
    assert.equal(nextFetchAfterSuccess(hour, 0, undefined).getTime(), hour);
    assert.equal(nextFetchAfterSuccess(hour, 0, new Date(2 * hour)).getTime(), hour);
    assert.equal(nextFetchAfterSuccess(hour, 0, new Date(600_000)).getTime(), 600_000);
    assert.equal(nextFetchAfterSuccess(hour, 0, new Date(-5)).getTime(), CRL_RETRY_FIRST_MS, 'a stale CRL served: not in a loop');
  });
});
