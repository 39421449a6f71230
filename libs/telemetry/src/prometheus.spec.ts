import { it } from 'node:test';
import assert from 'node:assert/strict';
import { promFamily } from './prometheus.js';

it('renders a family with escaped label values, one line per series', () => {
  assert.equal(
    promFamily('twoway_x', 'gauge', 'Things', [{ value: 3 }, { labels: { account: 'a"b\\c\nd' }, value: 1 }]),
    ['# HELP twoway_x Things', '# TYPE twoway_x gauge', 'twoway_x 3', 'twoway_x{account="a\\"b\\\\c\\nd"} 1'].join('\n'),
  );
});
