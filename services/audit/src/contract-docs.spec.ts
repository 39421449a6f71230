// The documented contract cannot drift from the code: docs/asyncapi.yaml against the TypeBox
// `AuditEvent` and `AuditTypes` in libs/contracts, and docs/audit.md against the settings schema.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { Parser, DiagnosticSeverity } from '@asyncapi/parser';
import { AuditEvent, AuditTypes, DeviceIdentity, Actor, AuditSubjectPrefix, Streams } from '@twoway/contracts';
import { auditSettings } from './config.js';

const root = new URL('../../../', import.meta.url);
const text = readFileSync(new URL('docs/asyncapi.yaml', root), 'utf8');
const doc = parse(text) as {
  asyncapi: string;
  channels: Record<string, { parameters: Record<string, { schema: { enum: string[] } }> }>;
  components: { messages: Record<string, { name: string }>; schemas: Record<string, { properties: Record<string, { enum?: string[] }>; required?: string[] }> };
};

describe('docs/asyncapi.yaml', () => {
  it('describes every audit type, as a message and in the type enum', () => {
    const types = Object.values(AuditTypes).sort();
    assert.deepEqual(Object.values(doc.components.messages).map((m) => m.name).sort(), types);
    assert.deepEqual([...(doc.components.schemas.AuditEvent!.properties.type!.enum ?? [])].sort(), types);
  });
  it('has the payload schema of the contract', () => {
    for (const [name, schema] of [['AuditEvent', AuditEvent], ['DeviceIdentity', DeviceIdentity], ['Actor', Actor]] as const) {
      const documented = doc.components.schemas[name]!;
      assert.deepEqual(Object.keys(documented.properties).sort(), Object.keys(schema.properties).sort(), name);
      assert.deepEqual([...(documented.required ?? [])].sort(), [...(schema.required ?? [])].sort(), `${name} required`);
    }
  });
  it('names the subject hierarchy the stream captures, every area and fact of the audit types', () => {
    assert.deepEqual(Object.keys(doc.channels), [`${AuditSubjectPrefix}.{area}.{fact}`]);
    assert.equal(Streams.Audit.subjects[0], `${AuditSubjectPrefix}.>`);
    const { area, fact } = doc.channels[`${AuditSubjectPrefix}.{area}.{fact}`]!.parameters;
    for (const t of Object.values(AuditTypes)) {
      const [a, f] = t.split('.');
      assert.ok(area!.schema.enum.includes(a!) && fact!.schema.enum.includes(f!), `${t}: area or fact missing from the channel parameters`);
    }
  });
  it('parses with the AsyncAPI parser without errors or warnings', async () => {
    const { document, diagnostics } = await new Parser().parse(text);
    assert.ok(document, 'parsed');
    // No error and no warning, none let through. Left: "asyncapi-latest-version", information only
    // (severity Information): moving to AsyncAPI 3 is a new document for every consumer.
    const problems = diagnostics.filter((d) => d.severity <= DiagnosticSeverity.Warning).map((d) => `${d.code} at ${d.path.join('.')}: ${d.message}`);
    assert.deepEqual(problems, []);
    assert.deepEqual(diagnostics.map((d) => String(d.code)), ['asyncapi-latest-version']);
  });
});

describe('docs/audit.md', () => {
  it('documents every setting of the audit service', () => {
    const md = readFileSync(new URL('docs/audit.md', root), 'utf8');
    for (const s of Object.values(auditSettings)) assert.ok(md.includes(`\`${s.env}\``), `${s.env} missing`);
  });
});
