// chooseLayout: the small services share one process unless asked otherwise, or tracing is on.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chooseLayout, LayoutConflictError } from './layout.js';

describe('chooseLayout', () => {
  it('shares one process by default', () => {
    assert.deepEqual(chooseLayout({}, {}), { combined: true });
    assert.deepEqual(chooseLayout({}, { TWOWAY_COMBINED: '' }), { combined: true });
  });

  it('runs one process per service with --separate or TWOWAY_COMBINED=false', () => {
    assert.deepEqual(chooseLayout({ separate: true }, {}), { combined: false });
    assert.deepEqual(chooseLayout({}, { TWOWAY_COMBINED: 'false' }), { combined: false });
    assert.deepEqual(chooseLayout({ separate: true }, { TWOWAY_COMBINED: 'true' }), { combined: false }, 'the flag wins over the environment');
  });

  it('runs one process per service when tracing is on, and says why', () => {
    const l = chooseLayout({}, { TWOWAY_OTEL_ENABLED: 'true' });
    assert.equal(l.combined, false);
    assert.match(l.note ?? '', /TWOWAY_OTEL_ENABLED/);
  });

  it('refuses what cannot be done: both flags, a shared process with tracing, an unreadable TWOWAY_COMBINED', () => {
    assert.throws(() => chooseLayout({ combined: true, separate: true }, {}), LayoutConflictError);
    assert.throws(() => chooseLayout({ combined: true }, { TWOWAY_OTEL_ENABLED: 'true' }), /one process per service/);
    assert.throws(() => chooseLayout({}, { TWOWAY_COMBINED: 'true', TWOWAY_OTEL_ENABLED: 'true' }), LayoutConflictError);
    assert.throws(() => chooseLayout({}, { TWOWAY_COMBINED: 'maybe' }), /true or false/);
  });
});
