// Parsing a certificate the broker has not seen yet (a new device's leaf, each registration of a trust
// set): our DER reader against @peculiar/x509, on the same fresh certificates, in one run. Each round
// starts with empty caches, so every parse is a first parse.
//   node --import tsx libs/pki/bench/cert-parse.bench.ts [--certs 1000] [--rounds 5]
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { certFactsCache } from '../src/cert-facts.js';
import { parseFast, parseWithPeculiar, sha256Hex } from '../src/certificate.js';
import { createRootCa, issueDeviceCert } from '../src/issue.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const ms = (x: number) => x.toFixed(3);

const { values } = parseArgs({ options: { certs: { type: 'string', default: '1000' }, rounds: { type: 'string', default: '5' } } });
const N = Number(values.certs);
const ROUNDS = Number(values.rounds);

const rows: string[] = ['| certificates | @peculiar/x509, ms each (median of rounds, min–max) | our DER reader, ms each | ratio |', '| --- | --- | --- | --- |'];
for (const keyAlgorithm of ['ec-p256', 'rsa-2048'] as const) {
  const root = await createRootCa({ commonName: `Bench Root ${keyAlgorithm}`, keyAlgorithm });
  const ders: Uint8Array[] = [];
  for (let i = 0; i < N; i++) ders.push((await issueDeviceCert({ issuer: root, commonName: `sensor-${i}`, keyAlgorithm, sans: [`dns:sensor-${i}.example.com`] })).cert.der);
  const fps = ders.map(sha256Hex);
  const time = (parse: (der: Uint8Array, fp: string) => unknown, touch: boolean) => {
    certFactsCache.clear();
    const t = performance.now();
    for (let i = 0; i < ders.length; i++) {
      const c = parse(ders[i]!, fps[i]!) as { subject: string; commonName?: string; notAfter: Date };
      // What a connect reads of the leaf (its audit event and identity binding).
      if (touch) void [c.subject, c.commonName, c.notAfter];
    }
    return (performance.now() - t) / ders.length;
  };
  const old: number[] = [];
  const fast: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    old.push(time(parseWithPeculiar, true));
    fast.push(time(parseFast, true));
  }
  const [a, b] = [median(old), median(fast)];
  rows.push(`| ${N} device leaves, ${keyAlgorithm}, with a SAN | ${ms(a)} (${ms(Math.min(...old))}–${ms(Math.max(...old))}) | ${ms(b)} (${ms(Math.min(...fast))}–${ms(Math.max(...fast))}) | ${(a / b).toFixed(1)} |`);
}
console.log(`\ncommand: node --import tsx libs/pki/bench/cert-parse.bench.ts --certs ${N} --rounds ${ROUNDS}\n`);
console.log(rows.join('\n'));
