import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import * as x509 from '@peculiar/x509';
import { readPemBlocks } from './libs/pki/src/pem.ts';
import { children, readOne, readTime, hex, Tag } from './libs/pki/src/der.ts';
import { factsOf } from './libs/pki/src/cert-facts.ts';
import { sha256Hex } from './libs/pki/src/certificate.ts';
const pems = new Set<string>();
for (const f of ['test/conformance/x509/cases.jsonl', 'test/conformance/x509/cases-server.jsonl']) {
  for (const line of readFileSync(f, 'utf8').split('\n').filter(Boolean)) {
    const c = JSON.parse(line);
    for (const v of Object.values(c)) { if (typeof v === 'string' && v.includes('BEGIN CERT')) pems.add(v); if (Array.isArray(v)) for (const x of v) if (typeof x === 'string' && x.includes('BEGIN CERT')) pems.add(x); }
  }
}
const ders: Uint8Array[] = [];
for (const p of pems) for (const b of readPemBlocks(p)) ders.push(b.der);
console.log('certs', ders.length);
let diff = 0, pecFail = 0, ourFail = 0, both = 0;
for (const der of ders) {
  let c: x509.X509Certificate | undefined; let pe: any;
  try { c = new x509.X509Certificate(der as any); void c.subject; void c.issuer; void c.notBefore; void c.extensions; } catch (e) { pe = e; }
  let ours: any; let oe: any;
  try {
    const f = factsOf(der, sha256Hex(der));
    const tbs = children(readOne(f.tbs));
    const i = tbs[0]!.tag === 0xa0 ? 1 : 0;
    const serial = hex(tbs[i]!.value);
    const [nb, na] = children(tbs[i + 3]!).map(readTime);
    ours = { serial, nb: nb!.toISOString(), na: na!.toISOString(), ca: !!f.basicConstraints?.ca, pathLen: f.basicConstraints?.pathLen, self: f.selfIssued };
  } catch (e) { oe = e; }
  if (pe && oe) { both++; continue; }
  if (pe) { pecFail++; console.log('peculiar fails, ours ok', pe.message?.slice(0,80)); continue; }
  if (oe) { ourFail++; console.log('ours fails, peculiar ok', oe.message?.slice(0,100)); continue; }
  const bc = c!.getExtension(x509.BasicConstraintsExtension);
  const theirs = { serial: c!.serialNumber, nb: c!.notBefore.toISOString(), na: c!.notAfter.toISOString(), ca: !!bc?.ca, pathLen: bc?.pathLength, self: c!.subjectName.toString() === c!.issuerName.toString() };
  if (JSON.stringify(ours) !== JSON.stringify(theirs)) { diff++; if (diff < 8) console.log('DIFF', JSON.stringify(ours), JSON.stringify(theirs)); }
}
console.log({ diff, pecFail, ourFail, both });
for (const der of ders) {
  let pe: any;
  try { const c = new x509.X509Certificate(der as any); void c.subject; void c.issuer; void c.notBefore; void c.extensions; } catch (e) { pe = e; }
  const f = factsOf(der, sha256Hex(der));
  if (pe) console.log('PEC-FAIL', pe.message.slice(0, 60), '| ours:', JSON.stringify(f.structureProblem), f.unknownCritical, Buffer.from(der).toString('base64').slice(0, 0));
}
for (const der of ders) {
  let c: any; try { c = new x509.X509Certificate(der as any); void c.extensions } catch { continue; }
  const f = factsOf(der, sha256Hex(der));
  const bc = c.getExtension(x509.BasicConstraintsExtension);
  if (!!bc?.ca !== !!f.basicConstraints?.ca) console.log('CA-DIFF', JSON.stringify(f.structureProblem));
}
