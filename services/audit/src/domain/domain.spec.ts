// Rules of the audit domain as tables: rows from events, cursors, CSV escaping, delivery decisions, filters.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditEvent } from '@twoway/contracts';
import { accountPathOf, normalizeFingerprint, normalizeTime, toRow, INDEXED_MAX_CHARS } from './audit-row.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { csvField, csvRow, CSV_COLUMNS } from './csv.js';
import { afterWriteFailure, retryDelayMs, MAX_ATTEMPTS_WHILE_DB_UP } from './delivery.js';
import { buildFilter, parseTypes, tailMatches } from './filter.js';
import { retentionCutoff } from './retention.js';
import { CursorInvalidError, QueryInvalidError } from '../errors.js';

const ev: AuditEvent = {
  id: 'e1',
  type: 'connect.rejected',
  time: '2026-11-23T11:00:00+01:00',
  account: 'acme',
  accountPath: ['acme', 'root'],
  actor: { kind: 'device', id: 'd1' },
  outcome: 'rejected',
  reason: 'CHAIN_UNTRUSTED',
  device: { clientId: 'd1', certificateFingerprint: 'AB:CD' },
  source: 'broker-0',
};

describe('toRow', () => {
  it('normalises time to sortable UTC text and pulls out the indexed facts', () => {
    const r = toRow(ev, 7);
    assert.ok(r.ok);
    assert.equal(r.row.time, '2026-11-23T10:00:00.000Z');
    assert.equal(r.row.accountPath, '/root/acme/');
    assert.equal(r.row.certificateFingerprint, 'abcd');
    assert.equal(r.row.seq, 7);
    assert.deepEqual(JSON.parse(r.row.payload), ev);
  });
  for (const [name, over, problem] of [
    ['a year beyond 9999', { time: '+10000-01-01T00:00:00Z' }, /time/],
    ['a path of another account', { accountPath: ['globex', 'root'] }, /accountPath/],
    ['a path on an unattributed event', { account: null, accountPath: ['x'] }, /accountPath/],
  ] as const) {
    it(`refuses ${name}`, () => {
      const r = toRow({ ...ev, ...over } as AuditEvent, 1);
      assert.equal(r.ok, false);
      assert.match(!r.ok ? r.problems.join() : '', problem);
    });
  }
  it('caps indexed device strings but keeps them whole in the payload', () => {
    const long = 'x'.repeat(5000);
    const r = toRow({ ...ev, device: { clientId: long } }, 1);
    assert.ok(r.ok);
    assert.equal(r.row.clientId?.length, INDEXED_MAX_CHARS);
    assert.equal((JSON.parse(r.row.payload) as AuditEvent).device?.clientId, long);
  });
  it('has helpers for paths, fingerprints and times', () => {
    assert.equal(accountPathOf(['c', 'b', 'a']), '/a/b/c/');
    assert.equal(normalizeFingerprint('AA:bb cc'), 'aabbcc');
    assert.equal(normalizeFingerprint('cert-1'), 'cert-1');
    assert.equal(normalizeTime('nonsense'), undefined);
  });
});

describe('cursor', () => {
  it('round-trips and refuses what we did not issue', () => {
    const c = encodeCursor({ time: '2026-01-01T00:00:00.000Z', id: 'abc' });
    assert.deepEqual(decodeCursor(c), { time: '2026-01-01T00:00:00.000Z', id: 'abc' });
    for (const bad of ['', 'bm9wZQ', Buffer.from('{"v":2,"t":"x","i":"y"}').toString('base64url')]) {
      assert.throws(() => decodeCursor(bad), CursorInvalidError);
    }
  });
});

describe('csv', () => {
  for (const [input, output] of [
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['=1+2', "'=1+2"],
    ['+1', "'+1"],
    ['-1', "'-1"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tx', "'\tx"],
    ['=a,b', `"'=a,b"`],
    ['', ''],
  ] as const) {
    it(`escapes ${JSON.stringify(input)}`, () => assert.equal(csvField(input), output));
  }
  it('writes one CRLF-terminated row with every column', () => {
    const row = csvRow(ev);
    assert.ok(row.endsWith('\r\n'));
    assert.equal(row.split(',').length, CSV_COLUMNS.length);
  });
});

describe('delivery after a failed write', () => {
  for (const [dbReachable, deliveries, expected] of [
    [false, 1, 'retry'],
    [false, 1000, 'retry'],
    [true, 1, 'retry'],
    [true, MAX_ATTEMPTS_WHILE_DB_UP - 1, 'retry'],
    [true, MAX_ATTEMPTS_WHILE_DB_UP, 'terminate'],
  ] as const) {
    it(`db ${dbReachable ? 'up' : 'down'}, delivery ${deliveries} → ${expected}`, () => assert.equal(afterWriteFailure({ dbReachable, deliveries }), expected));
  }
  it('backs off exponentially up to 30 s', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 100].map(retryDelayMs), [1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  });
});

describe('filter', () => {
  it('parses type lists and prefixes', () => {
    assert.deepEqual(parseTypes('connect.rejected, cert.*'), { exact: ['connect.rejected'], prefixes: ['cert.'] });
  });
  it('builds a subtree prefix from the ancestry and normalises bounds', () => {
    const f = buildFilter('acme', ['acme', 'root'], { subtree: true, from: '2026-01-01T01:00:00+01:00', certificate: 'AB:CD' });
    assert.equal(f.subtreePathPrefix, '/root/acme/');
    assert.equal(f.from, '2026-01-01T00:00:00.000Z');
    assert.deepEqual(f.certificate, { id: 'AB:CD', fingerprint: 'abcd' });
    assert.equal(buildFilter('acme', ['acme'], {}).subtreePathPrefix, undefined);
    // Unattributed refusals: only the root account's subtree view (the provider's) includes them.
    assert.equal(buildFilter('root', ['root'], { subtree: true }).includeUnattributed, true);
    assert.equal(buildFilter('root', ['root'], {}).includeUnattributed, undefined);
    assert.equal(buildFilter('acme', ['acme', 'root'], { subtree: true }).includeUnattributed, undefined);
    assert.throws(() => buildFilter('acme', ['acme'], { from: 'yesterday' }), QueryInvalidError);
  });
  it('matches live-tail events of the account, and of sub-accounts only with subtree', () => {
    const child = { account: 'plant', accountPath: ['plant', 'acme', 'root'] };
    assert.equal(tailMatches(child, 'acme', false), false);
    assert.equal(tailMatches(child, 'acme', true), true);
    assert.equal(tailMatches({ account: 'acme' }, 'acme', false), true);
    assert.equal(tailMatches({ account: 'globex', accountPath: ['globex', 'root'] }, 'acme', true), false);
    // a path that does not start with the event's account is not trusted
    assert.equal(tailMatches({ account: 'globex', accountPath: ['x', 'acme'] }, 'acme', true), false);
    assert.equal(tailMatches({ account: null }, 'root', true), false);
    assert.equal(tailMatches({ account: null }, 'root', true, true), true);
  });
  it('computes the retention cutoff', () => {
    assert.equal(retentionCutoff(new Date('2026-03-31T00:00:00Z'), 90), '2025-12-31T00:00:00.000Z');
  });
});
