import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseTopicFilter, sameTopicRules } from './topic-rules.js';

describe('parseTopicFilter', () => {
  const valid: [string, unknown][] = [
    ['a/b', [{ kind: 'text', parts: ['a'] }, { kind: 'text', parts: ['b'] }]],
    ['#', [{ kind: '#' }]],
    ['a/+/c/#', [{ kind: 'text', parts: ['a'] }, { kind: '+' }, { kind: 'text', parts: ['c'] }, { kind: '#' }]],
    ['a//b', [{ kind: 'text', parts: ['a'] }, { kind: 'text', parts: [''] }, { kind: 'text', parts: ['b'] }]],
    ['$aws/things/${clientId}', [{ kind: 'text', parts: ['$aws'] }, { kind: 'text', parts: ['things'] }, { kind: 'text', parts: [{ placeholder: 'clientId' }] }]],
    ['d/sensor-${cn}-${username}.x', [{ kind: 'text', parts: ['d'] }, { kind: 'text', parts: ['sensor-', { placeholder: 'cn' }, '-', { placeholder: 'username' }, '.x'] }]],
    ['a/$b/c$', [{ kind: 'text', parts: ['a'] }, { kind: 'text', parts: ['$b'] }, { kind: 'text', parts: ['c$'] }]],
  ];
  for (const [filter, levels] of valid) {
    it(`reads ${filter}`, () => assert.deepEqual(parseTopicFilter(filter), { ok: true, levels }));
  }

  const invalid: [string, RegExp][] = [
    ['', /empty/],
    ['a/#/b', /'#' must be the last level/],
    ['a#', /whole level/],
    ['a/b+', /whole level \(level 2: 'b\+'\)/],
    ['a/${cn', /unclosed placeholder/],
    ['a/${CN}', /unknown placeholder '\$\{CN\}': use \$\{username\}, \$\{cn\}, \$\{clientId\}/],
    ['a/${}', /unknown placeholder/],
    ['a/\u0000', /control character/],
    ['a/\nb', /control character/],
  ];
  for (const [filter, problem] of invalid) {
    it(`refuses ${JSON.stringify(filter)}`, () => {
      const r = parseTopicFilter(filter);
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.problem, problem);
    });
  }
});

describe('sameTopicRules', () => {
  const r = { effect: 'allow', action: 'both', filter: 'a/#' } as const;
  it('absent and empty are the same; order and every field count', () => {
    assert.equal(sameTopicRules(undefined, []), true);
    assert.equal(sameTopicRules([r], [{ ...r }]), true);
    assert.equal(sameTopicRules([r], [{ ...r, effect: 'deny' }]), false);
    assert.equal(sameTopicRules([r, { ...r, filter: 'b' }], [{ ...r, filter: 'b' }, r]), false);
  });
});
