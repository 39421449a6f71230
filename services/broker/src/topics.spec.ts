import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mountTopic, unmountTopic } from './topics.js';

describe('topic mount', () => {
  const rows: [string, string][] = [
    ['a/b', 'acc/a/b'],
    ['#', 'acc/#'],
    ['+/x', 'acc/+/x'],
    ['/leading', 'acc//leading'],
    ['$foo/bar', '$/acc/$foo/bar'],
    ['$SYS/x', '$/acc/$SYS/x'],
    ['acc/a', 'acc/acc/a'],
  ];
  for (const [device, mounted] of rows) {
    it(`${device} ⇄ ${mounted}`, () => {
      assert.equal(mountTopic('acc', device), mounted);
      assert.equal(unmountTopic('acc', mounted), device);
    });
  }

  it('another account\'s topics, and broker topics, are outside the namespace', () => {
    assert.equal(unmountTopic('acc', 'other/a'), undefined);
    assert.equal(unmountTopic('acc', 'accx/a'), undefined);
    assert.equal(unmountTopic('acc', '$/other/$x'), undefined);
    assert.equal(unmountTopic('acc', '$SYS/broker/new/clients'), undefined);
    // Not made by mountTopic: a `$` level under the plain prefix, a plain topic under `$/acc/`.
    assert.equal(unmountTopic('acc', 'acc/$x'), undefined);
    assert.equal(unmountTopic('acc', '$/acc/x'), undefined);
  });

  it('[MQTT-4.7.2-1] a mounted wildcard-first filter cannot match a mounted $-topic', () => {
    // Both mounted wildcards start with `acc/`; every mounted `$`-topic starts with `$/`.
    for (const f of ['#', '+/#', '+']) assert.ok(mountTopic('acc', f).startsWith('acc/'));
    assert.ok(mountTopic('acc', '$x').startsWith('$/acc/'));
  });
});
