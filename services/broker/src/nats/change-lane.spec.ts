import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ChangeLane } from './change-lane.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('ChangeLane', () => {
  it('applies one change at a time, in the order they came, whichever path', async () => {
    const lane = new ChangeLane();
    const log: string[] = [];
    const step = (name: string) => async () => {
      log.push(`${name} start`);
      await tick();
      log.push(`${name} end`);
    };
    await Promise.all([lane.run('live', step('a')), lane.run('stream', step('b')), lane.run('live', step('c'))]);
    assert.deepEqual(log, ['a start', 'a end', 'b start', 'b end', 'c start', 'c end']);
  });

  it('a change that fails does not hold back the next one, and its caller sees the failure', async () => {
    const lane = new ChangeLane();
    const failed = lane.run('live', () => Promise.reject(new Error('owner away')));
    const next = lane.run('stream', async () => 'applied');
    await assert.rejects(failed, /owner away/);
    assert.equal(await next, 'applied');
  });

  it('drops announcements beyond its bound (counted), never a stream copy', async () => {
    const dropped: number[] = [];
    const lane = new ChangeLane({ liveQueueMax: 2, onLiveDropped: () => dropped.push(1) });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const ran: string[] = [];
    const first = lane.run('live', async () => {
      await gate;
      ran.push('l1');
    });
    await tick(); // l1 is running: it no longer waits
    const waiting = [lane.run('live', async () => void ran.push('l2')), lane.run('live', async () => void ran.push('l3'))];
    assert.equal(await lane.run('live', async () => void ran.push('l4')), undefined, 'the third waiting announcement is dropped');
    const stream = lane.run('stream', async () => void ran.push('s1'));
    release();
    await Promise.all([first, ...waiting, stream]);
    assert.deepEqual(ran, ['l1', 'l2', 'l3', 's1']);
    assert.equal(lane.liveDropped, 1);
    assert.equal(dropped.length, 1);
  });

  it('remembers applied event ids within its bound, the oldest forgotten first', () => {
    const lane = new ChangeLane({ appliedIdsMax: 2 });
    lane.markApplied('e1');
    lane.markApplied('e2');
    assert.ok(lane.wasApplied('e1') && lane.wasApplied('e2'));
    lane.markApplied('e3');
    assert.equal(lane.wasApplied('e1'), false, 'forgotten: its other copy would be applied again (harmless)');
    assert.ok(lane.wasApplied('e3'));
  });
});
