// The connect decision's cost: (1) chain validation by depth, warm and cold; (2) with 1, 1,000, 10,000 and
// 100,000 registered anchors; (3) the broker's whole connect path end to end over real TLS, warm and cold.
//   node --import tsx test/bench/connect-decision.bench.ts [--iterations 2000] [--pool 200] [--devices 100] [--accounts 40] [--anchors 1,1000,10000,100000]
import { parseArgs } from 'node:util';
import { createPrivateKey, randomFillSync, sign } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import {
  AnchorSet, craftCertificate, createRootCa, issueDeviceCert, issueIntermediateCa, parseDer, sha256Hex, testKey, toPem, validateChain, Ext,
  type Issued, type ParsedCert, type ValidateChainInput,
} from '@twoway/pki';
import { System, makeTestPki, tempDir } from '@twoway/testing';
import { provisionFleet, summary, fmt, type Fleet } from './support.js';

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '2000' },
    pool: { type: 'string', default: '200' },
    devices: { type: 'string', default: '100' },
    accounts: { type: 'string', default: '40' },
    anchors: { type: 'string', default: '1,1000,10000,100000' },
  },
});
const ITER = Number(values.iterations);
const POOL = Number(values.pool);
const DEVICES = Number(values.devices);
const ACCOUNTS = Number(values.accounts);
const ANCHOR_COUNTS = values.anchors.split(',').map(Number);
/** A measurement stops after this long even if fewer than ITER samples were taken (the slow cases). */
const BUDGET_MS = 5_000;
const log = (s: string) => process.stderr.write(`${s}\n`);
const t0Run = performance.now();

// ---- part 1: validateChain by depth, warm and cold ------------------------------------------------

/** What the device sends, leaf first, as DER: parsed per connect, as the broker does. */
interface Case { ders: Uint8Array[] }

function tlv(tag: number, body: Buffer): Buffer {
  const n = body.length;
  const len = n < 0x80 ? Buffer.of(n) : n < 0x100 ? Buffer.of(0x81, n) : Buffer.of(0x82, n >> 8, n & 0xff);
  return Buffer.concat([Buffer.of(tag), len, body]);
}
/** Offset of a DER element's content, and the offset just past it. */
function element(b: Buffer, at: number): { content: number; end: number } {
  const l = b[at + 1]!;
  if (!(l & 0x80)) return { content: at + 2, end: at + 2 + l };
  let v = 0;
  for (let i = 0; i < (l & 0x7f); i++) v = v * 256 + b[at + 2 + i]!;
  return { content: at + 2 + (l & 0x7f), end: at + 2 + (l & 0x7f) + v };
}

/**
 * A certificate nobody has seen: `template` (issued by `issuer`) with a new random serial, signed again
 * with the issuer's key. Nothing in this process has parsed it or verified its signature, unlike a
 * certificate from issueDeviceCert (which parses what it issues, filling the parse cache) — and it costs
 * one ECDSA signature instead of a key generation. Same subject and key: an intermediate made this way
 * still issues the template's devices.
 */
function unseen(template: Issued, issuer: Issued): Uint8Array {
  const der = Buffer.from(template.cert.der);
  const outer = element(der, 0);
  const tbsEl = element(der, outer.content);
  const tbs = Buffer.from(der.subarray(outer.content, tbsEl.end));
  const version = element(tbs, element(tbs, 0).content); // [0] EXPLICIT version
  const serial = element(tbs, version.end);
  randomFillSync(tbs, serial.content, serial.end - serial.content);
  tbs[serial.content] = (tbs[serial.content]! & 0x7f) | 0x01; // positive, no leading zero (RFC 5280 §4.1.2.2)
  const algEl = element(der, tbsEl.end);
  const alg = der.subarray(tbsEl.end, algEl.end);
  const sig = sign('sha256', tbs, createPrivateKey(issuer.keyPem));
  return new Uint8Array(tlv(0x30, Buffer.concat([tbs, alg, tlv(0x03, Buffer.concat([Buffer.of(0), sig]))])));
}

log('issuing the PKI and the cold device pools …');
const root = await createRootCa({ commonName: 'bench root' });
const int1 = await issueIntermediateCa({ issuer: root, commonName: 'bench intermediate 1' });
const int2 = await issueIntermediateCa({ issuer: int1, commonName: 'bench intermediate 2' });
// Pinned leaves come from a CA that is never registered: only the pin can admit them.
const unregistered = await createRootCa({ commonName: 'bench unregistered CA' });
const depths = [
  { depth: 1, what: 'pinned leaf', issuer: unregistered, chain: [] as Issued[] },
  { depth: 2, what: 'root → leaf', issuer: root, chain: [] as Issued[] },
  { depth: 3, what: 'root → intermediate → leaf', issuer: int1, chain: [int1] },
  { depth: 4, what: 'root → 2 intermediates → leaf', issuer: int2, chain: [int2, int1] },
];
const pools = new Map<number, Case[]>();
const allColdPools = new Map<number, Case[]>();
const warmCase = new Map<number, Case>();
const chainDers = (chain: Issued[]) => chain.map((c) => c.cert.der);
for (const d of depths) {
  const template = await issueDeviceCert({ issuer: d.issuer, commonName: `bench-d${d.depth}` });
  warmCase.set(d.depth, { ders: [template.cert.der, ...chainDers(d.chain)] });
  pools.set(d.depth, Array.from({ length: POOL }, () => ({ ders: [unseen(template, d.issuer), ...chainDers(d.chain)] })));
  // Every certificate but the anchor unseen (as after a broker restart): one signature check per link.
  if (d.chain.length) {
    const issuerOf = (c: Issued) => (c === int1 ? root : int1);
    allColdPools.set(d.depth, Array.from({ length: POOL }, () => ({ ders: [unseen(template, d.issuer), ...d.chain.map((c) => unseen(c, issuerOf(c)))] })));
  }
}
log(`  ${POOL * (depths.length + 2)} unseen device chains made after ${((performance.now() - t0Run) / 1000).toFixed(1)} s`);

// A pinned leaf is itself the anchor: the depth-1 set holds every pinned device of the pools.
// Registration parses a pin (the broker's trust cache does, when it loads the set), so a pinned leaf's
// parse is warm even on its first connect; its facts are read when the set is built.
const pinSet = new AnchorSet([warmCase.get(1)!, ...pools.get(1)!].map((c) => parseDer(c.ders[0]!)));
const rootSet = new AnchorSet([root.cert]);
const at = () => new Date();

async function validateOnce(c: Case, anchors: ValidateChainInput['anchors']): Promise<{ parseUs: number; validateUs: number }> {
  const s = performance.now();
  // The broker parses what the handshake captured on every connect (parseDer caches by fingerprint).
  const presented = c.ders.map((d) => parseDer(d));
  const m = performance.now();
  const r = await validateChain({ leaf: presented[0]!, untrusted: presented.slice(1), anchors, at: at(), purpose: 'client' });
  const e = performance.now();
  if (!r.valid) throw new Error(`the benchmark chain did not validate: ${r.reason} ${r.detail ?? ''}`);
  return { parseUs: (m - s) * 1000, validateUs: (e - m) * 1000 };
}

interface Row { label: string; validate: ReturnType<typeof summary>; total: ReturnType<typeof summary> }
async function measure(label: string, next: (i: number) => Case | undefined, anchors: () => ValidateChainInput['anchors'], min = 5): Promise<Row> {
  const v: number[] = [];
  const t: number[] = [];
  const start = performance.now();
  for (let i = 0; i < ITER && (i < min || performance.now() - start < BUDGET_MS); i++) {
    const c = next(i);
    if (!c) break;
    const r = await validateOnce(c, anchors());
    v.push(r.validateUs);
    t.push(r.parseUs + r.validateUs);
  }
  return { label, validate: summary(v), total: summary(t) };
}

const depthRows: Row[] = [];
for (const d of depths) {
  const anchors = d.depth === 1 ? pinSet : rootSet;
  const w = warmCase.get(d.depth)!;
  for (let i = 0; i < 50; i++) await validateOnce(w, anchors); // fill the parse, facts and signature caches
  depthRows.push(await measure(`${d.depth}: ${d.what}, warm`, () => w, () => anchors));
  const pool = pools.get(d.depth)!;
  // Cold: every iteration a device never seen before (not parsed, its signature not yet verified);
  // the intermediates are warm, as they are on a broker that has admitted any device below them.
  depthRows.push(await measure(`${d.depth}: ${d.what}, cold (new device)`, (i) => pool[i], () => anchors));
  const allCold = allColdPools.get(d.depth);
  if (allCold) depthRows.push(await measure(`${d.depth}: ${d.what}, cold (new device and intermediates)`, (i) => allCold[i], () => anchors));
}
log(`part 1 done after ${((performance.now() - t0Run) / 1000).toFixed(1)} s`);

// ---- part 2: 1, 1,000 and 100,000 registered anchors -----------------------------------------------

/**
 * N-1 decoy anchors besides the real root: real DER certificates (self-issued CAs, distinct subjects
 * "bench decoy 0000042", Ed25519 signatures), made from one crafted template by rewriting the name and
 * re-signing the TBS — issuing 100,000 certificates the usual way would take over ten minutes. They are
 * wrapped as ParsedCert without the @peculiar/x509 object (`x`): parsing each with it costs ~1 ms and
 * several KB, and the validator reads only `der` and `fingerprint` of an anchor until it is on a path.
 */
function decoys(n: number): ParsedCert[] {
  const key = testKey('ed25519', 'bench-decoy');
  const cn = 'bench decoy 0000000';
  const template = craftCertificate({ subject: [['CN', cn]], key, extensions: [Ext.basicConstraints(true), Ext.keyUsage(['keyCertSign', 'cRLSign'])] });
  const der = Buffer.from(template.der);
  // DER header lengths: outer SEQUENCE, then the TBS SEQUENCE inside it.
  const hdr = (b: Buffer, at: number) => (b[at + 1]! & 0x80 ? 2 + (b[at + 1]! & 0x7f) : 2);
  const lenAt = (b: Buffer, at: number) => { const l = b[at + 1]!; if (!(l & 0x80)) return l; let v = 0; for (let i = 0; i < (l & 0x7f); i++) v = v * 256 + b[at + 2 + i]!; return v; };
  const tbsStart = hdr(der, 0);
  const tbsEnd = tbsStart + hdr(der, tbsStart) + lenAt(der, tbsStart);
  const cnBytes = Buffer.from(cn, 'utf8');
  const spots: number[] = [];
  for (let p = der.indexOf(cnBytes); p >= 0 && p < tbsEnd; p = der.indexOf(cnBytes, p + 1)) spots.push(p);
  if (spots.length !== 2) throw new Error('decoy template: expected the name twice (issuer and subject)');
  const out: ParsedCert[] = [];
  for (let i = 1; i <= n; i++) {
    const d = Buffer.from(der);
    const name = `bench decoy ${String(i).padStart(7, '0')}`;
    for (const p of spots) d.write(name, p, 'utf8');
    // An Ed25519 signature is always 64 bytes, the last ones of the certificate: no length changes.
    sign(null, d.subarray(tbsStart, tbsEnd), key.privateKey).copy(d, d.length - 64);
    const bytes = new Uint8Array(d);
    out.push({
      ...template, der: bytes, fingerprint: sha256Hex(bytes), subject: `CN=${name}`, issuer: `CN=${name}`, commonName: name, pem: toPem(bytes, 'CERTIFICATE'), x: undefined as never,
    });
  }
  return out;
}

const maxAnchors = Math.max(...ANCHOR_COUNTS);
const t2 = performance.now();
const allDecoys = decoys(maxAnchors - 1);
log(`  ${allDecoys.length} decoy anchors made in ${((performance.now() - t2) / 1000).toFixed(1)} s`);
const anchorRows: Row[] = [];
const depth3 = warmCase.get(3)!;
let coldNext = 0;
// Devices unseen by part 1, so that "cold" still means never parsed nor verified.
const template3 = await issueDeviceCert({ issuer: int1, commonName: 'bench-anchors' });
const coldPool2: Case[] = Array.from({ length: POOL * ANCHOR_COUNTS.length }, () => ({ ders: [unseen(template3, int1), int1.cert.der] }));
for (const n of ANCHOR_COUNTS) {
  const N = `${n.toLocaleString('en')} anchor${n === 1 ? '' : 's'}`;
  const list = [root.cert, ...allDecoys.slice(0, n - 1)];
  const tb = performance.now();
  const set = new AnchorSet(list);
  const buildMs = performance.now() - tb;
  if (set.size !== n) throw new Error(`AnchorSet holds ${set.size} of ${n}`);
  // What a broker does after a change in that ancestry: the same parsed registrations, indexed again.
  const tr = performance.now();
  if (new AnchorSet(list).size !== n) throw new Error('rebuild lost anchors');
  const rebuildMs = performance.now() - tr;
  for (let i = 0; i < 20; i++) await validateOnce(depth3, set);
  anchorRows.push({ ...(await measure(`${N}, AnchorSet built once, warm`, () => depth3, () => set)), label: `${N}, AnchorSet built once (build ${fmt(buildMs)} ms, rebuild ${fmt(rebuildMs)} ms), warm` });
  const slice = coldPool2.slice(coldNext, coldNext + POOL);
  coldNext += slice.length;
  anchorRows.push(await measure(`${N}, AnchorSet built once, cold (new device)`, (i) => slice[i], () => set));
  // What services/broker/src/connect/evaluate-chain.ts does today: pass the trust set as an array,
  // so the validator builds an AnchorSet of every anchor on each call.
  anchorRows.push(await measure(`${N}, passed as an array (AnchorSet per call), warm`, () => depth3, () => list, 3));
}
log(`part 2 done after ${((performance.now() - t0Run) / 1000).toFixed(1)} s`);

// ---- part 3: the broker's connect path end to end ------------------------------------------------

function open(o: IClientOptions): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = connect({ ...o, reconnectPeriod: 0, connectTimeout: 10_000 });
    c.once('connect', () => resolve(c));
    c.once('error', (e) => { c.end(true); reject(e); });
  });
}

log('starting the system (twoway up) …');
await using dir = await tempDir('twoway-bench-');
const pki = await makeTestPki({ fresh: true });
await using sys = await System.start({ env: { TWOWAY_LOG_LEVEL: 'warn' } });
const ca = await readFile(sys.caFile, 'utf8');
const optsFor = (f: Fleet, certPem: string, keyPem: string, clientId: string): IClientOptions => ({
  protocol: 'mqtts', host: '127.0.0.1', port: sys.mqttPort, servername: 'localhost', ca, cert: certPem, key: keyPem,
  username: f.username, password: f.password, clientId, protocolVersion: 4,
});

/** Broker cache misses by cache, from its Prometheus endpoint: proof that "cold" was cold. */
async function misses(): Promise<Record<string, number>> {
  const text = await (await fetch(`${sys.brokerHttpUrl}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^twoway_broker_cache_misses_total\{[^}]*cache="(\w+)"[^}]*\}\s+(\S+)/gm)) out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[2]);
  return out;
}
const diff = (a: Record<string, number>, b: Record<string, number>) =>
  Object.keys({ ...a, ...b }).sort().map((k) => `${k} ${(b[k] ?? 0) - (a[k] ?? 0)}`).join(', ') || 'none';

async function timeConnect(o: IClientOptions): Promise<number> {
  const s = performance.now();
  const c = await open(o);
  const ms = performance.now() - s;
  await c.endAsync();
  return ms;
}

const fleet = await provisionFleet(sys, pki, dir.path, 'warm');
// Devices never seen by the broker, for the same account: chain caches cold, account caches warm.
const newDevices: Issued[] = [];
for (let i = 0; i < DEVICES; i++) newDevices.push(await pki.device(`${fleet.username}-${i}`));
// Accounts never seen by the broker, each with its own device: every cache cold.
log(`provisioning ${ACCOUNTS} accounts …`);
const coldFleets: Fleet[] = [];
for (let i = 0; i < ACCOUNTS; i++) coldFleets.push(await provisionFleet(sys, pki, dir.path, `cold${i}`));

const e2e: { label: string; s: ReturnType<typeof summary>; missed: string }[] = [];
for (let i = 0; i < 20; i++) await timeConnect(optsFor(fleet, fleet.certPem, fleet.keyPem, `warmup-${i}`));
let m0 = await misses();
const warm: number[] = [];
for (let i = 0; i < 200; i++) warm.push(await timeConnect(optsFor(fleet, fleet.certPem, fleet.keyPem, `warm-${i}`)));
let m1 = await misses();
e2e.push({ label: 'warm: the same device reconnecting', s: summary(warm), missed: diff(m0, m1) });

const newDev: number[] = [];
for (const [i, d] of newDevices.entries()) newDev.push(await timeConnect(optsFor(fleet, d.chainPem, d.keyPem, `newdev-${i}`)));
m0 = m1;
m1 = await misses();
e2e.push({ label: 'cold chain: a new device of a warm account', s: summary(newDev), missed: diff(m0, m1) });

const newAcc: number[] = [];
for (const [i, f] of coldFleets.entries()) newAcc.push(await timeConnect(optsFor(f, f.certPem, f.keyPem, `newacc-${i}`)));
m0 = m1;
m1 = await misses();
e2e.push({ label: 'cold: first connect of a new account (new device)', s: summary(newAcc), missed: diff(m0, m1) });
log(`part 3 done after ${((performance.now() - t0Run) / 1000).toFixed(1)} s`);

// ---- report -------------------------------------------------------------------------------------

const us = (r: Row) => `${fmt(r.validate.p50)} | ${fmt(r.validate.p99)} | ${fmt(r.total.p50)} | ${fmt(r.total.p99)} | ${r.validate.n}`;
console.log(`\ncommand: node --import tsx test/bench/connect-decision.bench.ts --iterations ${ITER} --pool ${POOL} --devices ${DEVICES} --accounts ${ACCOUNTS} --anchors ${ANCHOR_COUNTS.join(',')}`);
console.log('\nvalidateChain by chain depth (anchors: the root, or for depth 1 the pinned leaves); µs');
console.log('| chain depth | validate p50 | validate p99 | parse + validate p50 | parse + validate p99 | n |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const r of depthRows) console.log(`| ${r.label} | ${us(r)} |`);
console.log('\nvalidateChain of a depth-3 chain (root → intermediate → leaf) by registered anchors; µs');
console.log('| anchors | validate p50 | validate p99 | parse + validate p50 | parse + validate p99 | n |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const r of anchorRows) console.log(`| ${r.label} | ${us(r)} |`);
console.log('\nbroker connect path end to end (mTLS + password, depth-3 chain, sequential), from opening the TCP connection to CONNACK (TCP + TLS handshake + MQTT CONNECT); ms');
console.log('| connect | p50 | p99 | max | n | broker cache misses meanwhile |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const r of e2e) console.log(`| ${r.label} | ${fmt(r.s.p50)} | ${fmt(r.s.p99)} | ${fmt(r.s.max)} | ${r.s.n} | ${r.missed} |`);
console.log(`\ntotal run time ${((performance.now() - t0Run) / 1000).toFixed(0)} s`);
