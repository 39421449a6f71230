import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SETTINGS, type Settings, type SettingsPatch } from '@twoway/contracts';
import { applySettingsPatch, MTLS_NOT_AVAILABLE_MESSAGE, PROVIDER_ONLY_MESSAGE } from './settings.js';

const s = (over: { tls?: boolean; available?: boolean; enabled?: boolean; staleCrl?: 'accept' | 'refuse' } = {}): Settings => ({
  tls: { enabled: over.tls ?? DEFAULT_SETTINGS.tls.enabled },
  mutualTls: { available: over.available ?? false, enabled: over.enabled ?? false },
  identity: { ...DEFAULT_SETTINGS.identity },
  revocation: { staleCrl: over.staleCrl ?? 'accept' },
});
const provider = { provider: true };
const account = { provider: false };

describe('applySettingsPatch', () => {
  const cases: { name: string; given: Settings; by: { provider: boolean }; patch: SettingsPatch; then: ReturnType<typeof applySettingsPatch> }[] = [
    { name: 'an empty patch changes nothing', given: s(), by: account, patch: {}, then: { ok: true, settings: s(), changed: false } },
    { name: 'a partial patch keeps every other part', given: s({ available: true, enabled: true }), by: account, patch: { tls: { enabled: false } }, then: { ok: true, settings: s({ tls: false, available: true, enabled: true }), changed: true } },
    {
      name: 'identity parts merge one by one',
      given: s(),
      by: account,
      patch: { identity: { bindCertificateTo: 'clientId' } },
      then: { ok: true, settings: { ...s(), identity: { bindCertificateTo: 'clientId', credentialLookup: 'username' } }, changed: true },
    },
    { name: 'an account admin may not make mutual TLS available', given: s(), by: account, patch: { mutualTls: { available: true } }, then: { ok: false, code: 'PROVIDER_ONLY', message: PROVIDER_ONLY_MESSAGE } },
    { name: 'an account admin may not withdraw availability either', given: s({ available: true }), by: account, patch: { mutualTls: { available: false } }, then: { ok: false, code: 'PROVIDER_ONLY', message: PROVIDER_ONLY_MESSAGE } },
    { name: 'sending back the current availability is not a change, so it is allowed', given: s({ available: true }), by: account, patch: { mutualTls: { available: true, enabled: true } }, then: { ok: true, settings: s({ available: true, enabled: true }), changed: true } },
    { name: 'the provider makes mutual TLS available', given: s(), by: provider, patch: { mutualTls: { available: true } }, then: { ok: true, settings: s({ available: true }), changed: true } },
    { name: 'enabling mutual TLS while not available is refused', given: s(), by: account, patch: { mutualTls: { enabled: true } }, then: { ok: false, code: 'MTLS_NOT_AVAILABLE', message: MTLS_NOT_AVAILABLE_MESSAGE } },
    { name: 'even for the provider', given: s(), by: provider, patch: { mutualTls: { enabled: true } }, then: { ok: false, code: 'MTLS_NOT_AVAILABLE', message: MTLS_NOT_AVAILABLE_MESSAGE } },
    { name: 'the provider may make available and enable in one patch', given: s(), by: provider, patch: { mutualTls: { available: true, enabled: true } }, then: { ok: true, settings: s({ available: true, enabled: true }), changed: true } },
    { name: 'withdrawing availability switches mutual TLS off', given: s({ available: true, enabled: true }), by: provider, patch: { mutualTls: { available: false } }, then: { ok: true, settings: s({ available: false, enabled: false }), changed: true } },
    { name: 'withdrawing and enabling at once is refused', given: s({ available: true, enabled: true }), by: provider, patch: { mutualTls: { available: false, enabled: true } }, then: { ok: false, code: 'MTLS_NOT_AVAILABLE', message: MTLS_NOT_AVAILABLE_MESSAGE } },
    { name: 'the stale-CRL policy is the account\'s own choice', given: s(), by: account, patch: { revocation: { staleCrl: 'refuse' } }, then: { ok: true, settings: s({ staleCrl: 'refuse' }), changed: true } },
    {
      name: 'settings stored before the stale-CRL policy existed read as accept (the default), so sending it back is no change',
      given: { tls: { enabled: true }, mutualTls: { available: false, enabled: false }, identity: { ...DEFAULT_SETTINGS.identity } },
      by: account,
      patch: { revocation: { staleCrl: 'accept' } },
      then: { ok: true, settings: s(), changed: false },
    },
    { name: 'an account admin switches available mutual TLS off', given: s({ available: true, enabled: true }), by: account, patch: { mutualTls: { enabled: false } }, then: { ok: true, settings: s({ available: true, enabled: false }), changed: true } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(applySettingsPatch(c.given, c.patch, c.by), c.then);
    });
  }

  describe('topic rules', () => {
    const rules = [{ effect: 'deny', action: 'both', filter: 'd/${clientId}/admin/#' }, { effect: 'allow', action: 'both', filter: 'd/${clientId}/#' }] as const;
    it('a list replaces the current one, and is a change', () => {
      const r = applySettingsPatch(s(), { topicRules: [...rules] }, account);
      assert.deepEqual(r, { ok: true, settings: { ...s(), topicRules: rules }, changed: true });
    });
    it('another part of the settings leaves the rules as they are', () => {
      const r = applySettingsPatch({ ...s(), topicRules: [...rules] }, { tls: { enabled: false } }, account);
      assert.deepEqual(r, { ok: true, settings: { ...s({ tls: false }), topicRules: rules }, changed: true });
    });
    it('sending the same list back is not a change; an empty list removes them', () => {
      assert.deepEqual(applySettingsPatch({ ...s(), topicRules: [...rules] }, { topicRules: [...rules] }, account), { ok: true, settings: { ...s(), topicRules: rules }, changed: false });
      assert.deepEqual(applySettingsPatch({ ...s(), topicRules: [...rules] }, { topicRules: [] }, account), { ok: true, settings: s(), changed: true });
      assert.deepEqual(applySettingsPatch(s(), { topicRules: [] }, account), { ok: true, settings: s(), changed: false });
    });
    it('invalid rules refuse the whole patch (TOPIC_RULES_INVALID), other parts included', () => {
      const r = applySettingsPatch(s(), { tls: { enabled: false }, topicRules: [{ effect: 'allow', action: 'both', filter: 'a/#/b' }] }, account);
      assert.deepEqual(r, { ok: false, code: 'TOPIC_RULES_INVALID', message: "rules[0].filter: '#' must be the last level" });
    });
    it('the bounds given are applied', () => {
      const r = applySettingsPatch(s(), { topicRules: [...rules] }, account, { maxRules: 1, maxFilterLength: 100 });
      assert.equal(r.ok, false);
    });
  });

  it('the refusal message tells the account admin to contact the provider', () => {
    assert.match(PROVIDER_ONLY_MESSAGE, /contact your provider/);
  });

  it('does not modify the settings it was given', () => {
    const given = s({ available: true });
    const copy = structuredClone(given);
    applySettingsPatch(given, { mutualTls: { enabled: true }, tls: { enabled: false } }, account);
    assert.deepEqual(given, copy);
  });
});
