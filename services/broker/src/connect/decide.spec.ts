// The connect rule as a table: settings × certificate × password, then identity binding and staleness.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SETTINGS, type Settings } from '@twoway/contracts';
import { decide, passwordAloneAdmits, type ChainFacts, type ConnectFacts, type CredentialFacts, type LeafFacts } from './decide.js';

const NOW = Date.parse('2026-11-23T12:00:00Z');
const opts = { nowMs: NOW, staleAfterMs: 10_000 };

const leaf: LeafFacts = { fingerprint: 'aa', subject: 'CN=dev-1, O=Acme', commonName: 'dev-1', sans: ['dns:dev-1.example', 'uri:urn:dev:1'] };
const settings = (tls: boolean, mtls: boolean, identity: Partial<Settings['identity']> = {}): Settings => ({
  tls: { enabled: tls },
  mutualTls: { available: true, enabled: mtls },
  identity: { ...DEFAULT_SETTINGS.identity, ...identity },
});

const certs: Record<string, ChainFacts> = {
  none: { kind: 'none' },
  trusted: { kind: 'trusted', leaf, path: ['aa', 'bb', 'cc'], caIdentities: [] },
  untrusted: { kind: 'untrusted', reason: 'CHAIN_UNTRUSTED', leaf },
  revoked: { kind: 'blocked', reason: 'CERT_REVOKED', fingerprint: 'aa', leaf, path: ['aa', 'bb', 'cc'] },
  suspendedAnchor: { kind: 'blocked', reason: 'ANCHOR_SUSPENDED', fingerprint: 'cc', leaf, path: ['aa', 'bb', 'cc'] },
};
const passwords: Record<string, CredentialFacts> = {
  right: { status: 'ok', accountId: 'acc', credentialId: 'cred', username: 'dev-1', keyKind: 'username', key: 'dev-1', requireCertificate: false },
  wrong: { status: 'refused', reason: 'BAD_CREDENTIALS', accountId: 'acc' },
};
const modes: Record<string, Settings> = {
  mtlsOnly: settings(false, true),
  both: settings(true, true),
  tlsOnly: settings(true, false),
  none: settings(false, false),
};

const facts = (s: Settings, chain: ChainFacts, credential: CredentialFacts, extra: Partial<ConnectFacts> = {}): ConnectFacts => ({
  clientId: 'dev-1',
  username: 'dev-1',
  credential,
  ...(credential.status === 'ok' ? { settings: s } : {}),
  chain: chain.kind === 'none' || s.mutualTls.enabled ? chain : chain.kind === 'trusted' || chain.kind === 'untrusted' || chain.kind === 'blocked' ? { kind: 'not_evaluated', leaf } : chain,
  ...extra,
});

type Expect = [outcome: 'accepted' | 'rejected', reason: string, typeOrCode: string | number];
// [settings, certificate, password] → [outcome, reason, audit type (accepted) or CONNACK code (rejected)]
const matrix: [string, string, string, Expect][] = [
  ['mtlsOnly', 'none', 'right', ['rejected', 'MTLS_REQUIRED', 5]],
  ['mtlsOnly', 'trusted', 'right', ['accepted', 'MUTUAL_TLS', 'connect.accepted']],
  ['mtlsOnly', 'untrusted', 'right', ['rejected', 'CHAIN_UNTRUSTED', 5]],
  ['mtlsOnly', 'revoked', 'right', ['rejected', 'CERT_REVOKED', 5]],
  ['mtlsOnly', 'suspendedAnchor', 'right', ['rejected', 'ANCHOR_SUSPENDED', 5]],
  ['both', 'none', 'right', ['accepted', 'CHAIN_EMPTY', 'connect.accepted_fallback']],
  ['both', 'trusted', 'right', ['accepted', 'MUTUAL_TLS', 'connect.accepted']],
  ['both', 'untrusted', 'right', ['accepted', 'CHAIN_UNTRUSTED', 'connect.accepted_fallback']],
  ['both', 'revoked', 'right', ['rejected', 'CERT_REVOKED', 5]],
  ['both', 'suspendedAnchor', 'right', ['rejected', 'ANCHOR_SUSPENDED', 5]],
  ['tlsOnly', 'none', 'right', ['accepted', 'PLAIN_TLS', 'connect.accepted']],
  ['tlsOnly', 'trusted', 'right', ['accepted', 'PLAIN_TLS', 'connect.accepted']],
  ['tlsOnly', 'untrusted', 'right', ['accepted', 'PLAIN_TLS', 'connect.accepted']],
  ['tlsOnly', 'revoked', 'right', ['accepted', 'PLAIN_TLS', 'connect.accepted']],
  ['none', 'none', 'right', ['rejected', 'ACCOUNT_DISABLED', 5]],
  ['none', 'trusted', 'right', ['rejected', 'ACCOUNT_DISABLED', 5]],
  ['none', 'untrusted', 'right', ['rejected', 'ACCOUNT_DISABLED', 5]],
  ['none', 'revoked', 'right', ['rejected', 'ACCOUNT_DISABLED', 5]],
];
// A wrong password is refused with CONNACK 4 in every cell, whatever the certificate.
for (const m of Object.keys(modes)) for (const c of Object.keys(certs)) matrix.push([m, c, 'wrong', ['rejected', 'BAD_CREDENTIALS', 4]]);

describe('decide: settings × certificate × password', () => {
  for (const [m, c, p, [outcome, reason, extra]] of matrix) {
    it(`${m} / ${c} certificate / ${p} password → ${outcome} ${reason}`, () => {
      const d = decide(facts(modes[m]!, certs[c]!, passwords[p]!), opts);
      assert.equal(d.outcome, outcome);
      assert.equal(d.reason, reason);
      if (d.outcome === 'accepted') assert.equal(d.type, extra);
      else assert.equal(d.returnCode, extra);
    });
  }

  it('mutual TLS enabled but not made available by the provider counts as off', () => {
    const s: Settings = { ...settings(false, true), mutualTls: { available: false, enabled: true } };
    assert.equal(decide(facts(s, certs.trusted!, passwords.right!), opts).reason, 'ACCOUNT_DISABLED');
  });

  it('no credentials at all → CREDENTIALS_MISSING, CONNACK 4', () => {
    const d = decide(facts(modes.mtlsOnly!, certs.trusted!, { status: 'missing' }), opts);
    assert.deepEqual(d, { outcome: 'rejected', type: 'connect.rejected', reason: 'CREDENTIALS_MISSING', returnCode: 4 });
  });

  it('a rate-limited credential is CONNACK 5', () => {
    const d = decide(facts(modes.both!, certs.trusted!, { status: 'refused', reason: 'RATE_LIMITED' }), opts);
    assert.deepEqual(d, { outcome: 'rejected', type: 'connect.rejected', reason: 'RATE_LIMITED', returnCode: 5 });
  });
});

describe('decide: identity binding', () => {
  const bound = (bindCertificateTo: Settings['identity']['bindCertificateTo'], tls = false) => settings(tls, true, { bindCertificateTo });
  const cases: [string, Settings, string, string, string][] = [
    ['clientId equals CN', bound('clientId'), 'dev-1', 'dev-1', 'MUTUAL_TLS'],
    ['clientId equals a SAN', bound('clientId'), 'urn:dev:1', 'x', 'MUTUAL_TLS'],
    ['clientId differs', bound('clientId'), 'dev-2', 'dev-1', 'CN_MISMATCH'],
    ['username equals CN', bound('username'), 'any', 'dev-1', 'MUTUAL_TLS'],
    ['username differs', bound('username'), 'dev-1', 'dev-2', 'CN_MISMATCH'],
    ['both equal', bound('both'), 'dev-1', 'dev-1', 'MUTUAL_TLS'],
    ['both: username differs', bound('both'), 'dev-1', 'dev-2', 'CN_MISMATCH'],
    // Another device's trusted certificate must not slip in through the fallback.
    ['both modes on, clientId differs: refused, no fallback', bound('clientId', true), 'dev-2', 'dev-1', 'CN_MISMATCH'],
  ];
  for (const [name, s, clientId, username, reason] of cases) {
    it(name, () => {
      const cred: CredentialFacts = { status: 'ok', accountId: 'acc', credentialId: 'c', username, keyKind: 'username', key: username, requireCertificate: false };
      const d = decide({ ...facts(s, certs.trusted!, cred), clientId, username }, opts);
      assert.equal(d.reason, reason);
    });
  }
});

describe('decide: credentials looked up by certificate', () => {
  const byCn = settings(true, true, { credentialLookup: 'certificateCn' });
  const bySubject = settings(false, true, { credentialLookup: 'certificateSubject' });
  const cnKey = { status: 'ok', accountId: 'acc', credentialId: 'c', username: 'dev-1', keyKind: 'certificateCn', key: 'dev-1', requireCertificate: false } as const satisfies CredentialFacts;
  it('a verified leaf whose CN is the key is accepted', () => {
    assert.equal(decide(facts(byCn, certs.trusted!, cnKey), opts).reason, 'MUTUAL_TLS');
  });
  it('the subject DN as key', () => {
    const k: CredentialFacts = { ...cnKey, keyKind: 'certificateSubject', key: leaf.subject, username: leaf.subject };
    assert.equal(decide(facts(bySubject, certs.trusted!, k), opts).reason, 'MUTUAL_TLS');
  });
  it('never from an untrusted certificate, even with plain TLS on (no fallback for certificate keys)', () => {
    assert.equal(decide(facts(byCn, certs.untrusted!, cnKey), opts).reason, 'CHAIN_UNTRUSTED');
  });
  it('no certificate → CERT_REQUIRED', () => {
    assert.equal(decide(facts(byCn, certs.none!, cnKey), opts).reason, 'CERT_REQUIRED');
  });
  it('a username that is not the verified CN → CN_MISMATCH', () => {
    const k: CredentialFacts = { ...cnKey, keyKind: 'username', key: 'dev-2', username: 'dev-2' };
    assert.equal(decide(facts(byCn, certs.trusted!, k), opts).reason, 'CN_MISMATCH');
  });
  it('a certificate-derived key for an account that looks up by username → CREDENTIALS_MISSING', () => {
    assert.equal(decide(facts(modes.both!, certs.trusted!, cnKey), opts).reason, 'CREDENTIALS_MISSING');
  });
  it('a revoked certificate → its status reason', () => {
    assert.equal(decide(facts(byCn, certs.revoked!, cnKey), opts).reason, 'CERT_REVOKED');
  });
});

describe('decide: a credential whose last verified chain is suspended or revoked cannot fall back', () => {
  const anchorSuspended = { fallbackBlockedBy: { reason: 'ANCHOR_SUSPENDED' as const, fingerprint: 'cc' } };
  const leafRevoked = { fallbackBlockedBy: { reason: 'CERT_REVOKED' as const, fingerprint: 'aa' } };
  // [settings, certificate presented now, what the last verified chain says] → reason
  const cases: [string, string, Partial<ConnectFacts>, 'accepted' | 'rejected', string][] = [
    ['both', 'none', anchorSuspended, 'rejected', 'ANCHOR_SUSPENDED'],
    ['both', 'untrusted', anchorSuspended, 'rejected', 'ANCHOR_SUSPENDED'],
    ['both', 'none', leafRevoked, 'rejected', 'CERT_REVOKED'],
    // Nothing recorded, or the recorded chain is VALID again: the documented fallback.
    ['both', 'none', {}, 'accepted', 'CHAIN_EMPTY'],
    ['both', 'untrusted', {}, 'accepted', 'CHAIN_UNTRUSTED'],
    // Not a fallback: the presented chain decides as before.
    ['both', 'trusted', anchorSuspended, 'accepted', 'MUTUAL_TLS'],
    ['mtlsOnly', 'none', anchorSuspended, 'rejected', 'MTLS_REQUIRED'],
    ['tlsOnly', 'none', anchorSuspended, 'accepted', 'PLAIN_TLS'],
  ];
  for (const [m, c, extra, outcome, reason] of cases) {
    it(`${m} / ${c} certificate / ${extra.fallbackBlockedBy ? `last chain ${extra.fallbackBlockedBy.reason}` : 'no blocked last chain'} → ${outcome} ${reason}`, () => {
      const d = decide(facts(modes[m]!, certs[c]!, passwords.right!, extra), opts);
      assert.equal(d.outcome, outcome);
      assert.equal(d.reason, reason);
      if (d.outcome === 'rejected') assert.equal(d.returnCode, 5);
    });
  }
});

// The operators' story: a CA suspended, its device refused ANCHOR_SUSPENDED, then back without its
// certificate and in on its password by fallback (CHAIN_EMPTY). A credential that requires a
// verified certificate has no password-only way in.
describe('decide: a credential that requires a verified certificate', () => {
  const required: CredentialFacts = { ...(passwords.right as Extract<CredentialFacts, { status: 'ok' }>), requireCertificate: true };
  const anchorSuspended = { fallbackBlockedBy: { reason: 'ANCHOR_SUSPENDED' as const, fingerprint: 'cc' } };
  // [settings, certificate, extra facts] → [outcome, reason]
  const cases: [string, string, Partial<ConnectFacts>, 'accepted' | 'rejected', string][] = [
    // Given both modes on, when it comes without a (trusted) certificate, then no fallback.
    ['both', 'none', {}, 'rejected', 'CREDENTIAL_REQUIRES_CERTIFICATE'],
    ['both', 'untrusted', {}, 'rejected', 'CREDENTIAL_REQUIRES_CERTIFICATE'],
    // Its own rule comes before the chain it last connected with, whatever that says.
    ['both', 'none', anchorSuspended, 'rejected', 'CREDENTIAL_REQUIRES_CERTIFICATE'],
    // A verified chain decides as before: clean → in, suspended or revoked → the status reason.
    ['both', 'trusted', {}, 'accepted', 'MUTUAL_TLS'],
    ['both', 'suspendedAnchor', {}, 'rejected', 'ANCHOR_SUSPENDED'],
    ['both', 'revoked', {}, 'rejected', 'CERT_REVOKED'],
    // Mutual TLS only: the account refuses first, with its own reasons.
    ['mtlsOnly', 'none', {}, 'rejected', 'MTLS_REQUIRED'],
    ['mtlsOnly', 'untrusted', {}, 'rejected', 'CHAIN_UNTRUSTED'],
    ['mtlsOnly', 'trusted', {}, 'accepted', 'MUTUAL_TLS'],
    // Mutual TLS turned off later: no chain is verified, so nothing can satisfy it (fail closed).
    ['tlsOnly', 'none', {}, 'rejected', 'CREDENTIAL_REQUIRES_CERTIFICATE'],
    ['tlsOnly', 'trusted', {}, 'rejected', 'CREDENTIAL_REQUIRES_CERTIFICATE'],
    ['none', 'trusted', {}, 'rejected', 'ACCOUNT_DISABLED'],
  ];
  for (const [m, c, extra, outcome, reason] of cases) {
    it(`given ${m}, when it presents ${c === 'none' ? 'no' : c === 'untrusted' ? 'an untrusted' : `a ${c}`} certificate${extra.fallbackBlockedBy ? ' (last chain suspended)' : ''}, then ${outcome} ${reason}`, () => {
      const d = decide(facts(modes[m]!, certs[c]!, required, extra), opts);
      assert.equal(d.outcome, outcome);
      assert.equal(d.reason, reason);
      // Not a credential problem (the password was right): CONNACK 5, not authorized.
      if (d.outcome === 'rejected') assert.equal(d.returnCode, 5);
    });
  }
  it('given the same device with a credential that does not require one, then the documented fallback', () => {
    const d = decide(facts(modes.both!, certs.none!, passwords.right!), opts);
    assert.deepEqual([d.outcome, d.reason, d.outcome === 'accepted' && d.type], ['accepted', 'CHAIN_EMPTY', 'connect.accepted_fallback']);
  });
});

describe('passwordAloneAdmits agrees with decide for a device without a certificate', () => {
  const kinds = { username: passwords.right!, cn: { ...(passwords.right as Extract<CredentialFacts, { status: 'ok' }>), keyKind: 'certificateCn' as const } };
  const lookups = ['username', 'certificateCn'] as const;
  for (const [m, base] of Object.entries(modes))
    for (const lookup of lookups)
      for (const [kind, cred] of Object.entries(kinds))
        for (const requireCertificate of [false, true]) {
          const s = { ...base, identity: { ...base.identity, credentialLookup: lookup } };
          const c = { ...(cred as Extract<CredentialFacts, { status: 'ok' }>), requireCertificate };
          it(`${m}, lookup ${lookup}, ${kind} key, requireCertificate ${requireCertificate}`, () => {
            assert.equal(passwordAloneAdmits(s, c), decide(facts(s, certs.none!, c), opts).outcome === 'accepted');
          });
        }
});

describe('decide: fail closed', () => {
  it('an owner did not answer → UNDECIDABLE', () => {
    const d = decide(facts(modes.both!, certs.trusted!, passwords.right!, { undecidable: true }), opts);
    assert.deepEqual(d, { outcome: 'rejected', type: 'connect.rejected', reason: 'UNDECIDABLE', returnCode: 5 });
  });
  it('NATS away within the staleness bound → decided from the cache', () => {
    const d = decide(facts(modes.both!, certs.trusted!, passwords.right!, { natsDownSinceMs: NOW - 10_000 }), opts);
    assert.equal(d.reason, 'MUTUAL_TLS');
  });
  it('NATS away beyond the staleness bound → UNDECIDABLE', () => {
    const d = decide(facts(modes.both!, certs.trusted!, passwords.right!, { natsDownSinceMs: NOW - 10_001 }), opts);
    assert.equal(d.reason, 'UNDECIDABLE');
  });
});
