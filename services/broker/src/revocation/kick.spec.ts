// Step 3 of a change, given-when-then on live sessions held by fake aedes clients: which sessions a
// status change of one copy of a CA ends when others verified through another copy (same subject and
// key), whether this replica still holds the changed registration or has to read it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { Client } from 'aedes';
import type { AuditEvent, CertStatus, TrustEntry } from '@twoway/contracts';
import { caIdentityOf, craftCertificate, Ext, testKey, type NameSpec, type ParsedCert } from '@twoway/pki';
import type { AuditQueue } from '../audit/audit-queue.js';
import { buildSnapshot, TrustCache } from '../cache/trust-cache.js';
import { BrokerMetrics } from '../http/metrics.js';
import type { Owners } from '../nats/owners.js';
import { SessionRegistry, type Session } from '../sessions/session-registry.js';
import { kick, type KickDeps } from './kick.js';
import type { Change } from './decode-change.js';

const ANCESTRY = ['acc', 'provider'];
const ca = [Ext.basicConstraints(true), Ext.keyUsage(['keyCertSign', 'cRLSign'])];
const rootName: NameSpec = [['CN', 'kick root']];
const icaName: NameSpec = [['CN', 'kick ICA']];
const rootKey = testKey('ec-p256', 'kick-root');
const icaKey = testKey('ec-p256', 'kick-ica');
const root = craftCertificate({ subject: rootName, key: rootKey, extensions: ca });
// Two copies of one intermediate: same subject and key, different certificates (a renewal).
const icaA = craftCertificate({ subject: icaName, issuer: rootName, key: icaKey, signer: rootKey, extensions: ca });
const icaB = craftCertificate({ subject: icaName, issuer: rootName, key: icaKey, signer: rootKey, extensions: ca });
const leaf = (cn: string) => craftCertificate({ subject: [['CN', cn]], issuer: icaName, key: testKey('ec-p256', `kick-${cn}`), signer: icaKey, extensions: [Ext.basicConstraints(false)] });

const entry = (id: string, c: ParsedCert, status: CertStatus = 'VALID'): TrustEntry => ({ id, accountId: 'acc', fingerprint: c.fingerprint, status, kind: 'intermediate', pem: c.pem });
const REGISTRY = [entry('root', root), entry('ica-a', icaA)];

function setup(o: { held: boolean }) {
  const sessions = new SessionRegistry();
  const closed: string[] = [];
  /** A session verified through `path`; `fallback`: admitted on its password, holding the path its credential last verified with (no identities). */
  const session = (id: string, path: ParsedCert[], o: { fallback?: boolean } = {}): Session => {
    const client = { id, conn: { destroy: () => closed.push(id) }, close: () => undefined } as unknown as Client;
    const s = {
      id, client, clientId: id, accountId: 'acc', ancestry: ANCESTRY, credentialId: `cred-${id}`, username: id, sourceAddress: undefined, transport: 'tls',
      fingerprints: path.map((c) => c.fingerprint), caIdentities: o.fallback ? [] : path.map((c) => caIdentityOf(c)!), presented: o.fallback ? [] : path.slice(0, -1), malformed: false,
      leaf: undefined, mode: o.fallback ? 'fallback' : 'mutual', facts: {} as Session['facts'], ending: false,
    } satisfies Session;
    sessions.add(s);
    return s;
  };
  const trust = new TrustCache({ sets: 10, parsed: 100, revocationLists: 10 });
  if (o.held) trust.put(trust.build(ANCESTRY, REGISTRY), trust.generation.current);
  const asked: string[] = [];
  const owners = {
    caches: { trust },
    settings: async (accountId: string) => {
      asked.push(`settings ${accountId}, ended so far: ${closed.join() || 'none'}`);
      return { accountId, settings: {}, ancestry: ANCESTRY };
    },
    trustSet: async (ancestry: readonly string[]) => {
      asked.push(`trust set ${ancestry.join('/')}`);
      return buildSnapshot(ancestry, REGISTRY, (e) => [root, icaA].find((c) => c.fingerprint === e.fingerprint));
    },
  } as unknown as Owners;
  const events: AuditEvent[] = [];
  const d: KickDeps = {
    sessions, owners, metrics: new BrokerMetrics(), audit: { push: (e: AuditEvent) => events.push(e), holdFor: () => undefined } as unknown as AuditQueue,
    log: pino({ level: 'silent' }), source: 'broker-1', staleAfterMs: 10_000,
  };
  return { d, session, sessions, closed, asked, events };
}

const suspended = (fingerprint: string): Change => ({ type: 'cert.status_changed', eventId: 'ev-1', account: 'acc', timeMs: Date.now(), certificateId: 'ica-a', fingerprint, before: 'VALID', after: 'SUSPENDED' });
const deleted = (fingerprint: string): Change => ({ type: 'cert.deleted', eventId: 'ev-2', account: 'acc', timeMs: Date.now(), certificateId: 'ica-a', fingerprint });

describe('kick: a status change of one copy of a CA', () => {
  it('given sessions through copy A, through copy B and through neither, when A is suspended, then the first two end and the third stays', async () => {
    const { d, session, sessions, closed, asked, events } = setup({ held: true });
    session('via-a', [leaf('d1'), icaA, root]);
    session('via-b', [leaf('d2'), icaB, root]);
    const other = session('pinned', [leaf('d3')]);
    assert.equal(await kick(suspended(icaA.fingerprint), d), 2);
    assert.deepEqual(closed.sort(), ['via-a', 'via-b']);
    assert.deepEqual(sessions.all(), [other]);
    assert.deepEqual(events.map((e) => [e.device?.clientId, e.reason, e.detail?.fingerprint]).sort(), [
      ['via-a', 'SESSION_CERT_STATUS_CHANGED', icaA.fingerprint],
      ['via-b', 'SESSION_CERT_STATUS_CHANGED', icaA.fingerprint],
    ]);
    assert.deepEqual(asked, [], 'held here: nothing read from the owners');
  });

  it('given this replica\'s trust sets no longer hold copy A but a live session\'s path does, then its identity is taken from there: nothing is read', async () => {
    const { d, session, closed, asked } = setup({ held: false });
    session('via-a', [leaf('d1'), icaA, root]);
    session('via-b', [leaf('d2'), icaB, root]);
    assert.equal(await kick(suspended(icaA.fingerprint), d), 2);
    assert.deepEqual([closed, asked], [['via-a', 'via-b'], []]);
  });

  it('given copy A held nowhere on this replica, when A is suspended, then its own sessions end first and the account\'s trust set is read to find the copy\'s', async () => {
    const { d, session, closed, asked } = setup({ held: false });
    session('fallback-a', [leaf('d1'), icaA, root], { fallback: true });
    session('via-b', [leaf('d2'), icaB, root]);
    assert.equal(await kick(suspended(icaA.fingerprint), d), 2);
    assert.deepEqual(closed, ['fallback-a', 'via-b']);
    assert.deepEqual(asked, ['settings acc, ended so far: fallback-a', 'trust set acc/provider']);
  });

  it('given no session below the account holds a verified path, then nothing is read', async () => {
    const { d, asked } = setup({ held: false });
    assert.equal(await kick(suspended(icaA.fingerprint), d), 0);
    assert.deepEqual(asked, []);
  });

  it('given copy A deleted, then only its own sessions end: copy B keeps its standing', async () => {
    const { d, session, closed } = setup({ held: true });
    session('via-a', [leaf('d1'), icaA, root]);
    session('via-b', [leaf('d2'), icaB, root]);
    assert.equal(await kick(deleted(icaA.fingerprint), d), 1);
    assert.deepEqual(closed, ['via-a']);
  });
});
