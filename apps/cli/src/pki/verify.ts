// `twoway pki verify`: one chain from files, or the bulk pre-flight mode `--cases FILE.jsonl` of
// docs/design.md §3 (one JSON object a line in, one `{"id","valid","reason"}` line a case out; a case
// that cannot be read still gets an answer, valid:false, never a crash).
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parsePemCertificates, validateChainSync, PkiError, type ParsedCert, type Purpose } from '@twoway/pki';
import { readText, UsageError } from './files.js';

/** Reason for a case line that is not a usable case object (bulk mode only; not a chain reason). */
export const CASE_INVALID = 'CASE_INVALID';

const PURPOSES: readonly Purpose[] = ['client', 'server', 'any'];

export interface CaseInput {
  id?: unknown;
  trust?: unknown;
  untrusted?: unknown;
  leaf?: unknown;
  at?: unknown;
  purpose?: unknown;
}

export interface CaseOutput {
  id: unknown;
  valid: boolean;
  reason: string;
  detail?: string;
}

export function parsePurpose(p: unknown): Purpose {
  if (p === undefined || p === null) return 'client';
  if (typeof p === 'string' && (PURPOSES as string[]).includes(p)) return p as Purpose;
  throw new UsageError(`purpose must be one of ${PURPOSES.join(', ')}`);
}

export function parseAt(at: unknown, now: Date): Date {
  if (at === undefined || at === null || at === '') return now;
  if (typeof at !== 'string') throw new UsageError('at must be an ISO-8601 string or null');
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) throw new UsageError(`at '${at}' is not an ISO-8601 date-time`);
  return d;
}

/** Every certificate of each PEM; unreadable ones are dropped (fewer certificates never admit a chain). */
function lenientCerts(pems: unknown, what: string): ParsedCert[] {
  if (pems === undefined || pems === null) return [];
  if (!Array.isArray(pems)) throw new UsageError(`${what} must be an array of PEM strings`);
  const out: ParsedCert[] = [];
  for (const p of pems) {
    if (typeof p !== 'string') continue;
    try {
      out.push(...parsePemCertificates(p));
    } catch {
      // Skipped on purpose; see the function comment.
    }
  }
  return out;
}

/** Evaluates one case object. Never throws. */
export function evaluateCase(c: CaseInput, now: Date): CaseOutput {
  const id = c.id ?? null;
  try {
    if (typeof c !== 'object' || c === null || Array.isArray(c)) return { id, valid: false, reason: CASE_INVALID, detail: 'a case must be a JSON object' };
    const purpose = parsePurpose(c.purpose);
    const at = parseAt(c.at, now);
    if (typeof c.leaf !== 'string' || c.leaf.trim() === '') return { id, valid: false, reason: 'CHAIN_EMPTY', detail: 'no leaf certificate' };
    let leafCerts: ParsedCert[];
    try {
      leafCerts = parsePemCertificates(c.leaf);
    } catch (e) {
      return { id, valid: false, reason: 'CERT_MALFORMED', detail: `leaf: ${(e as Error).message}` };
    }
    const [leaf, ...rest] = leafCerts;
    const untrusted = [...rest, ...lenientCerts(c.untrusted, 'untrusted')];
    const anchors = lenientCerts(c.trust, 'trust');
    const r = validateChainSync({ leaf: leaf!, untrusted, anchors, at, purpose });
    return { id, valid: r.valid, reason: r.reason, ...(r.detail && !r.valid ? { detail: r.detail } : {}) };
  } catch (e) {
    if (e instanceof UsageError) return { id, valid: false, reason: CASE_INVALID, detail: e.message };
    // A bug must not take the other cases down: answer this one as refused and say why on stderr.
    process.stderr.write(`case ${JSON.stringify(id)}: internal error: ${(e as Error).message}\n`);
    return { id, valid: false, reason: 'INTERNAL', detail: 'internal error while validating; see stderr' };
  }
}

/** Bulk mode: streams the JSONL file; returns the number of cases. */
export async function runCases(file: string, opts: { detail?: boolean; out?: NodeJS.WritableStream } = {}): Promise<number> {
  const out = opts.out ?? process.stdout;
  const input = createReadStream(file, { encoding: 'utf8' });
  const opened = new Promise<void>((resolve, reject) => {
    input.once('open', () => resolve());
    input.once('error', reject);
  });
  try {
    await opened;
  } catch (e) {
    throw new UsageError(`cannot read cases file '${file}' (${(e as NodeJS.ErrnoException).code ?? 'error'}): check the path`);
  }
  const rl = createInterface({ input, crlfDelay: Infinity });
  const now = new Date();
  let n = 0;
  let lineNo = 0;
  for await (const line of rl) {
    lineNo++;
    if (!line.trim()) continue;
    n++;
    let result: CaseOutput;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      result = { id: `line-${lineNo}`, valid: false, reason: CASE_INVALID, detail: `line ${lineNo} is not a JSON object` };
    } else {
      result = evaluateCase(parsed as CaseInput, now);
    }
    // Exactly {"id","valid","reason"} per docs/design.md §3, unless --detail asks for the explanation.
    const line2 = opts.detail ? result : { id: result.id, valid: result.valid, reason: result.reason };
    const ok = out.write(JSON.stringify(line2) + '\n');
    if (!ok) await new Promise((r) => out.once('drain', r));
  }
  return n;
}

export interface VerifyOneOptions {
  leafFile: string;
  chainFile?: string;
  trustFiles: string[];
  at?: string;
  purpose?: string;
}

/** Single-chain mode; returns the result line and whether it is valid. */
export async function verifyOne(o: VerifyOneOptions): Promise<{ valid: boolean; reason: string; detail?: string; path: string[] }> {
  const readCerts = async (file: string, what: string): Promise<ParsedCert[]> => {
    const text = await readText(file, what);
    try {
      return parsePemCertificates(text);
    } catch (e) {
      const msg = e instanceof PkiError ? e.message : String(e);
      throw new UsageError(`${what} '${file}': ${msg}`);
    }
  };
  const [leaf, ...rest] = await readCerts(o.leafFile, 'leaf file');
  const untrusted = [...rest, ...(o.chainFile ? await readCerts(o.chainFile, 'chain file') : [])];
  const anchors: ParsedCert[] = [];
  for (const t of o.trustFiles) anchors.push(...(await readCerts(t, 'trust file')));
  const r = validateChainSync({ leaf: leaf!, untrusted, anchors, at: parseAt(o.at, new Date()), purpose: parsePurpose(o.purpose) });
  return { valid: r.valid, reason: r.reason, detail: r.detail, path: r.path.map((c) => c.subject) };
}
