// Topic rules as account-settings accepts them: the contracts' filter syntax plus the operator's
// bounds (TWOWAY_TOPIC_RULES_MAX, TWOWAY_TOPIC_RULE_FILTER_MAX_LENGTH). Pure: no I/O.
import { TOPIC_RULES_MAX_ITEMS, TOPIC_RULE_FILTER_MAX_CHARS, parseTopicFilter, type TopicRule } from '@twoway/contracts';

export interface TopicRuleLimits {
  maxRules: number;
  maxFilterLength: number;
}

/** An account's devices are few kinds (sensors, gateways…): 50 rules say what each may do, and keep per-session memory small. */
export const DEFAULT_TOPIC_RULES_MAX = 50;
/** Longer than any topic layout seen in practice (AWS IoT caps a whole policy at 2,048 characters). */
export const DEFAULT_TOPIC_RULE_FILTER_MAX_LENGTH = 256;
export const DEFAULT_TOPIC_RULE_LIMITS: TopicRuleLimits = { maxRules: DEFAULT_TOPIC_RULES_MAX, maxFilterLength: DEFAULT_TOPIC_RULE_FILTER_MAX_LENGTH };
export const TOPIC_RULE_HARD_LIMITS: TopicRuleLimits = { maxRules: TOPIC_RULES_MAX_ITEMS, maxFilterLength: TOPIC_RULE_FILTER_MAX_CHARS };

/** Why `rules` cannot be stored (the first problem, naming the rule by its index), or undefined when they can. */
export function topicRulesProblem(rules: readonly TopicRule[], limits: TopicRuleLimits): string | undefined {
  if (rules.length > limits.maxRules) return `at most ${limits.maxRules} topic rules per account (TWOWAY_TOPIC_RULES_MAX); ${rules.length} were sent`;
  for (let i = 0; i < rules.length; i++) {
    const f = rules[i]!.filter;
    if (f.length > limits.maxFilterLength) return `rules[${i}].filter: longer than ${limits.maxFilterLength} characters (TWOWAY_TOPIC_RULE_FILTER_MAX_LENGTH)`;
    const parsed = parseTopicFilter(f);
    if (!parsed.ok) return `rules[${i}].filter: ${parsed.problem}`;
  }
  return undefined;
}

/** The list as stored: exactly the three fields of each rule, in the order given. */
export const normalizeTopicRules = (rules: readonly TopicRule[]): TopicRule[] => rules.map((r) => ({ effect: r.effect, action: r.action, filter: r.filter }));
