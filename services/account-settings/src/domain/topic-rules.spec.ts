import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TopicRule } from '@twoway/contracts';
import { normalizeTopicRules, topicRulesProblem } from './topic-rules.js';

const rule = (filter: string): TopicRule => ({ effect: 'allow', action: 'both', filter });
const limits = { maxRules: 3, maxFilterLength: 30 };

describe('topicRulesProblem', () => {
  it('accepts up to the bounds, placeholders included', () => {
    assert.equal(topicRulesProblem([rule('devices/${clientId}/#'), rule('u/${username}'), rule('${cn}/+/x')], limits), undefined);
    assert.equal(topicRulesProblem([], limits), undefined);
  });
  it('refuses more rules than TWOWAY_TOPIC_RULES_MAX, saying how many', () => {
    assert.equal(topicRulesProblem([rule('a'), rule('b'), rule('c'), rule('d')], limits), 'at most 3 topic rules per account (TWOWAY_TOPIC_RULES_MAX); 4 were sent');
  });
  it('refuses a filter longer than TWOWAY_TOPIC_RULE_FILTER_MAX_LENGTH, naming the rule', () => {
    assert.equal(topicRulesProblem([rule('a'), rule('x'.repeat(31))], limits), 'rules[1].filter: longer than 30 characters (TWOWAY_TOPIC_RULE_FILTER_MAX_LENGTH)');
  });
  it('refuses what is not an MQTT topic filter, and unknown placeholders, naming the rule', () => {
    assert.equal(topicRulesProblem([rule('a/#/b')], limits), "rules[0].filter: '#' must be the last level");
    assert.match(topicRulesProblem([rule('ok'), rule('a/${serial}')], limits) ?? '', /^rules\[1\]\.filter: unknown placeholder '\$\{serial\}'/);
  });
});

describe('normalizeTopicRules', () => {
  it('keeps the order and exactly the three fields', () => {
    const extra = { ...rule('a'), note: 'x' } as TopicRule;
    assert.deepEqual(normalizeTopicRules([extra, { effect: 'deny', action: 'publish', filter: 'b' }]), [rule('a'), { effect: 'deny', action: 'publish', filter: 'b' }]);
  });
});
