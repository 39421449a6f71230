// Settings merge rules: a PUT carries only the parts it changes; the provider alone makes mutual TLS
// available; an account can switch mutual TLS on only once it is available; the stale-CRL policy is the
// account's own choice. Pure: no I/O.
import { sameTopicRules, staleCrlPolicyOf, type Settings, type SettingsPatch } from '@twoway/contracts';
import { DEFAULT_TOPIC_RULE_LIMITS, normalizeTopicRules, topicRulesProblem, type TopicRuleLimits } from './topic-rules.js';

export type SettingsDecision =
  | { ok: true; settings: Settings; changed: boolean }
  | { ok: false; code: 'PROVIDER_ONLY' | 'MTLS_NOT_AVAILABLE' | 'TOPIC_RULES_INVALID'; message: string };

export const PROVIDER_ONLY_MESSAGE =
  'mutualTls.available is controlled by the provider of this installation; contact your provider to make mutual TLS available to this account.';
export const MTLS_NOT_AVAILABLE_MESSAGE =
  'Mutual TLS is not available to this account, so it cannot be enabled; contact your provider to make it available.';

/**
 * Apply `patch` to `current` on behalf of a principal (`provider` true when its account is the root).
 * Sending a value equal to the current one is not a change, so a client may send back the whole
 * document it read. Withdrawing availability also switches mutual TLS off: an account cannot keep
 * using what the provider no longer offers (the change event's before/after shows both).
 */
export function applySettingsPatch(current: Settings, patch: SettingsPatch, by: { provider: boolean }, topicRuleLimits: TopicRuleLimits = DEFAULT_TOPIC_RULE_LIMITS): SettingsDecision {
  // Topic rules replace the whole list; an empty list is stored as none (docs/permissions.md).
  const problem = patch.topicRules ? topicRulesProblem(patch.topicRules, topicRuleLimits) : undefined;
  if (problem) return { ok: false, code: 'TOPIC_RULES_INVALID', message: problem };
  const topicRules = patch.topicRules ? normalizeTopicRules(patch.topicRules) : current.topicRules;
  const wantAvailable = patch.mutualTls?.available;
  if (wantAvailable !== undefined && wantAvailable !== current.mutualTls.available && !by.provider) {
    return { ok: false, code: 'PROVIDER_ONLY', message: PROVIDER_ONLY_MESSAGE };
  }
  const available = wantAvailable ?? current.mutualTls.available;
  const wantEnabled = patch.mutualTls?.enabled;
  if (wantEnabled === true && !available) {
    return { ok: false, code: 'MTLS_NOT_AVAILABLE', message: MTLS_NOT_AVAILABLE_MESSAGE };
  }
  const enabled = available ? (wantEnabled ?? current.mutualTls.enabled) : false;
  const next: Settings = {
    tls: { enabled: patch.tls?.enabled ?? current.tls.enabled },
    mutualTls: { available, enabled },
    identity: {
      bindCertificateTo: patch.identity?.bindCertificateTo ?? current.identity.bindCertificateTo,
      credentialLookup: patch.identity?.credentialLookup ?? current.identity.credentialLookup,
    },
    revocation: { staleCrl: patch.revocation?.staleCrl ?? staleCrlPolicyOf(current) },
    ...(topicRules?.length ? { topicRules } : {}),
  };
  return { ok: true, settings: next, changed: !sameSettings(current, next) };
}

export function sameSettings(a: Settings, b: Settings): boolean {
  return (
    a.tls.enabled === b.tls.enabled &&
    a.mutualTls.available === b.mutualTls.available &&
    a.mutualTls.enabled === b.mutualTls.enabled &&
    a.identity.bindCertificateTo === b.identity.bindCertificateTo &&
    a.identity.credentialLookup === b.identity.credentialLookup &&
    staleCrlPolicyOf(a) === staleCrlPolicyOf(b) &&
    sameTopicRules(a.topicRules, b.topicRules)
  );
}
