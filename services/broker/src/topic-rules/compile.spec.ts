import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TopicRule } from '@twoway/contracts';
import { NO_RULE, compileTopicRules, type TopicIdentity, type TopicPermissions } from './compile.js';

const allow = (action: TopicRule['action'], filter: string): TopicRule => ({ effect: 'allow', action, filter });
const deny = (action: TopicRule['action'], filter: string): TopicRule => ({ effect: 'deny', action, filter });
const device: TopicIdentity = { username: 'alice', cn: 'sensor-7', clientId: 'c7' };

/** 'allow' or 'deny', and the rule that decided (NO_RULE: none). */
const verdict = (p: TopicPermissions, rule: number) => [p.allows(rule) ? 'allow' : 'deny', rule] as const;
const pub = (p: TopicPermissions, t: string) => verdict(p, p.publish(t));
const sub = (p: TopicPermissions, f: string) => verdict(p, p.subscribe(f));
const recv = (p: TopicPermissions, t: string) => verdict(p, p.receive(t));

describe('topic rules: no rules', () => {
  it('an account without rules compiles to nothing: today\'s whole-namespace behaviour', () => {
    assert.equal(compileTopicRules(undefined, device), undefined);
    assert.equal(compileTopicRules([], device), undefined);
  });
});

describe('topic rules: order and default', () => {
  const rules = [deny('both', 'devices/+/admin/#'), allow('both', 'devices/#'), allow('subscribe', 'broadcast/#'), allow('publish', 'ingest/${clientId}')];
  const p = compileTopicRules(rules, device)!;

  it('the first rule that matches decides', () => {
    assert.deepEqual(pub(p, 'devices/c7/admin/reboot'), ['deny', 0]);
    assert.deepEqual(pub(p, 'devices/c7/temp'), ['allow', 1]);
  });
  it('what no rule matches is refused (NO_RULE)', () => {
    assert.deepEqual(pub(p, 'elsewhere'), ['deny', NO_RULE]);
    assert.deepEqual(sub(p, 'elsewhere/#'), ['deny', NO_RULE]);
  });
  it('each rule applies to its action only', () => {
    assert.deepEqual(pub(p, 'broadcast/news'), ['deny', NO_RULE]);
    assert.deepEqual(sub(p, 'broadcast/news'), ['allow', 2]);
    assert.deepEqual(recv(p, 'broadcast/news'), ['allow', 2]);
    assert.deepEqual(pub(p, 'ingest/c7'), ['allow', 3]);
    assert.deepEqual(sub(p, 'ingest/c7'), ['deny', NO_RULE]);
  });
  it('an allow rule grants a subscription only when it covers all of it', () => {
    assert.deepEqual(sub(p, 'devices/c7/temp/#'), ['allow', 1]);
    assert.deepEqual(sub(p, 'devices/c7/#'), ['deny', 0], 'could receive devices/c7/admin/…');
    assert.deepEqual(sub(p, '#'), ['deny', 0], 'the deny rule shares topics with `#`: refused whole');
    assert.deepEqual(sub(p, 'devices/+/temp'), ['allow', 1]);
    assert.deepEqual(sub(p, 'devices/+/+/reboot'), ['deny', 0], 'could receive devices/x/admin/reboot');
  });
  it('a later deny does not take back what an earlier allow granted (first match wins)', () => {
    const q = compileTopicRules([allow('both', 'a/#'), deny('both', 'a/secret/#')], device)!;
    assert.deepEqual(pub(q, 'a/secret/x'), ['allow', 0]);
    assert.deepEqual(sub(q, 'a/#'), ['allow', 0]);
  });
  it('a granted subscription never receives a topic the rules refuse', () => {
    const q = compileTopicRules([allow('subscribe', 'a/b'), deny('subscribe', 'a/+/c'), allow('subscribe', 'a/#')], device)!;
    assert.deepEqual(sub(q, 'a/#'), ['deny', 1]);
    assert.deepEqual(sub(q, 'a/x'), ['allow', 2]);
    assert.deepEqual(recv(q, 'a/b'), ['allow', 0]);
    assert.deepEqual(recv(q, 'a/x/c'), ['deny', 1]);
  });
  it('[MQTT-4.7.2-1] a rule starting with a wildcard does not reach `$` topics; a `$` rule does', () => {
    const q = compileTopicRules([allow('both', '#'), allow('publish', '$aws/things/${clientId}/shadow/#')], device)!;
    assert.deepEqual(pub(q, '$aws/things/c7/shadow/update'), ['allow', 1]);
    assert.deepEqual(pub(q, '$other/x'), ['deny', NO_RULE]);
    assert.deepEqual(sub(q, '$other/#'), ['deny', NO_RULE]);
  });
});

describe('topic rules: substitution', () => {
  const rules = [allow('both', 'u/${username}/#'), allow('both', 'cn/${cn}/#'), allow('both', 'c/${clientId}/#'), allow('publish', 'x/pre-${clientId}-post')];

  it('each placeholder stands for its part of the identity', () => {
    const p = compileTopicRules(rules, device)!;
    assert.deepEqual(pub(p, 'u/alice/t'), ['allow', 0]);
    assert.deepEqual(pub(p, 'cn/sensor-7/t'), ['allow', 1]);
    assert.deepEqual(pub(p, 'c/c7/t'), ['allow', 2]);
    assert.deepEqual(pub(p, 'x/pre-c7-post'), ['allow', 3]);
    // …and for nobody else's.
    for (const t of ['u/bob/t', 'cn/sensor-8/t', 'c/c8/t', 'x/pre-c8-post']) assert.deepEqual(pub(p, t), ['deny', NO_RULE], t);
  });

  it('two devices of one account get their own topics from the same rules', () => {
    const a = compileTopicRules(rules, device)!;
    const b = compileTopicRules(rules, { username: 'bob', cn: 'sensor-8', clientId: 'c8' })!;
    assert.deepEqual(pub(b, 'c/c8/t'), ['allow', 2]);
    assert.deepEqual(pub(a, 'c/c8/t'), ['deny', NO_RULE]);
  });

  const hostile: [string, string][] = [
    ['+', 'a single-level wildcard'],
    ['#', 'a multi-level wildcard'],
    ['a/b', 'a level separator'],
    ['x\u0000y', 'NUL'],
    ['', 'nothing'],
  ];
  for (const [value, what] of hostile) {
    it(`a value holding ${what} (${JSON.stringify(value)}) makes an allow rule match nothing`, () => {
      const p = compileTopicRules(rules, { username: value, cn: value, clientId: value })!;
      for (const t of ['u/+/t', 'u/#', 'u/x/t', 'u/a/b/t', 'cn/x/t', 'c/x/t', 'c/a/b/t', 'x/pre--post', 'x/pre-+-post']) assert.deepEqual(pub(p, t), ['deny', NO_RULE], t);
      for (const f of ['u/#', 'u/+/#', 'c/+/t', '#']) assert.deepEqual(sub(p, f), ['deny', NO_RULE], f);
    });
    it(`a value holding ${what} widens a deny rule to the whole level instead of dropping it`, () => {
      const p = compileTopicRules([deny('both', 'd/${clientId}/admin'), allow('both', 'd/#')], { username: 'u', cn: undefined, clientId: value })!;
      assert.deepEqual(pub(p, 'd/anyone/admin'), ['deny', 0]);
      assert.deepEqual(pub(p, 'd/anyone/data'), ['allow', 1]);
    });
  }

  it('a value is not expanded again: `${cn}` as a client id is literal text', () => {
    const p = compileTopicRules(rules, { username: 'u', cn: 'sensor-7', clientId: '${cn}' })!;
    assert.deepEqual(pub(p, 'c/${cn}/t'), ['allow', 2]);
    assert.deepEqual(pub(p, 'c/sensor-7/t'), ['deny', NO_RULE]);
  });

  it('without a verified certificate `${cn}` has no value: its allow rule matches nothing', () => {
    const p = compileTopicRules(rules, { username: 'alice', cn: undefined, clientId: 'c7' })!;
    assert.deepEqual(pub(p, 'cn/sensor-7/t'), ['deny', NO_RULE]);
    assert.deepEqual(pub(p, 'u/alice/t'), ['allow', 0]);
  });
});

describe('topic rules: compiled once per account', () => {
  it('rules without placeholders are shared by every session of the account', () => {
    const rules = [allow('both', 'a/#')];
    const one = compileTopicRules(rules, device)!;
    const two = compileTopicRules(rules, { username: 'bob', cn: undefined, clientId: 'c8' })!;
    assert.deepEqual([pub(one, 'a/x'), pub(two, 'a/x')], [['allow', 0], ['allow', 0]]);
  });
  it('a filter that does not parse (never stored by account-settings) refuses everything: fail closed', () => {
    const p = compileTopicRules([allow('both', '#'), allow('both', 'a/#/b')], device)!;
    assert.deepEqual(pub(p, 'a/x'), ['deny', NO_RULE]);
    assert.deepEqual(sub(p, 'a/x'), ['deny', NO_RULE]);
    assert.deepEqual(recv(p, 'a/x'), ['deny', NO_RULE]);
  });
});
