import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { planReplicas } from './replicas.js';

describe('planReplicas: a service start never lowers a stream’s replicas', () => {
  const cases: [string, number | undefined, number, ReturnType<typeof planReplicas>][] = [
    ['missing, setting 1: create R1', undefined, 1, { action: 'create', replicas: 1 }],
    ['missing, setting 3: create R3', undefined, 3, { action: 'create', replicas: 3 }],
    ['R1, setting 3: raise', 1, 3, { action: 'raise', replicas: 3, current: 1 }],
    ['R3, setting 1: keep R3', 3, 1, { action: 'keep', replicas: 3, current: 3 }],
    ['R3, setting 3: keep', 3, 3, { action: 'keep', replicas: 3, current: 3 }],
  ];
  for (const [name, current, wanted, plan] of cases) {
    it(name, () => assert.deepEqual(planReplicas(current, wanted), plan));
  }
  it('refuses a setting below 1', () => assert.throws(() => planReplicas(1, 0), RangeError));
});
