// Distinguished names and general names as the validator compares them: RFC 5280 §7.1 name matching
// (string attributes compared after RFC 4518-style preparation, not byte equality) and RFC 5280
// §4.2.1.10 / §6.1.3 (b)(c) name constraints for DNS, email, URI, IP and directory names.
import { children, decodeString, DerError, hex, readOid, readOne, Tag, type Tlv } from './der.js';

const OID_EMAIL_ADDRESS = '1.2.840.113549.1.9.1';

export interface DistinguishedName {
  /** One canonical string per RDN, in order. */
  readonly rdns: readonly string[];
  /** The canonical form of the whole name: equal keys ⇔ the names match under RFC 5280 §7.1. */
  readonly key: string;
  readonly empty: boolean;
  /** Values of legacy emailAddress attributes (PKCS #9), for rfc822Name constraints (RFC 5280 §4.2.1.10). */
  readonly emails: readonly string[];
}

/**
 * RFC 4518 string preparation, simplified to what certificates need: Unicode NFKC, case folding,
 * leading/trailing space removed and inner runs of whitespace folded to one space (§2.6.1 insignificant space).
 */
export function prepareString(s: string): string {
  return s.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
}

/** Parses a Name (an RDNSequence) from its DER TLV. Throws DerError when it is malformed. */
export function parseName(t: Tlv): DistinguishedName {
  if (t.tag !== Tag.SEQUENCE) throw new DerError('Name: expected a SEQUENCE');
  const rdns: string[] = [];
  const emails: string[] = [];
  for (const set of children(t)) {
    if (set.tag !== Tag.SET) throw new DerError('RDN: expected a SET');
    const attrs: string[] = [];
    for (const atv of children(set)) {
      if (atv.tag !== Tag.SEQUENCE) throw new DerError('AttributeTypeAndValue: expected a SEQUENCE');
      const [typ, val, extra] = children(atv);
      if (!typ || !val || extra) throw new DerError('AttributeTypeAndValue: expected type and value');
      const oid = readOid(typ);
      const s = decodeString(val);
      // Strings of any type compare by their prepared text, so PrintableString "Test CA" matches a
      // UTF8String "test  ca" (PKITS 4.3.10, 4.3.11). Other values compare by their encoding.
      attrs.push(s === undefined ? `${oid}=#${hex(val.raw)}` : `${oid}=${JSON.stringify(prepareString(s))}`);
      if (oid === OID_EMAIL_ADDRESS && s !== undefined) emails.push(s);
    }
    if (attrs.length === 0) throw new DerError('empty RDN');
    rdns.push(attrs.sort().join('+'));
  }
  return { rdns, key: rdns.join(','), empty: rdns.length === 0, emails };
}

export type GeneralName =
  | { type: 'dns' | 'email' | 'uri'; value: string }
  | { type: 'ip'; value: Uint8Array }
  | { type: 'dn'; value: DistinguishedName }
  | { type: 'other' | 'x400' | 'edi' | 'rid'; value: Uint8Array };

function ia5(t: Tlv): string {
  for (const b of t.value) if (b > 0x7f) throw new DerError('non-ASCII byte in an IA5String name');
  return Buffer.from(t.value).toString('latin1');
}

export function parseGeneralName(t: Tlv): GeneralName {
  switch (t.tag) {
    case 0xa0:
      return { type: 'other', value: t.value };
    case 0x81:
      return { type: 'email', value: ia5(t) };
    case 0x82:
      return { type: 'dns', value: ia5(t) };
    case 0xa3:
      return { type: 'x400', value: t.value };
    case 0xa4:
      return { type: 'dn', value: parseName(readOne(t.value)) };
    case 0xa5:
      return { type: 'edi', value: t.value };
    case 0x86:
      return { type: 'uri', value: ia5(t) };
    case 0x87:
      return { type: 'ip', value: t.value };
    case 0x88:
      return { type: 'rid', value: t.value };
    default:
      throw new DerError(`unknown GeneralName tag 0x${t.tag.toString(16)}`);
  }
}

/** GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName */
export function parseGeneralNames(der: Uint8Array): GeneralName[] {
  const seq = readOne(der, Tag.SEQUENCE);
  const names = children(seq).map(parseGeneralName);
  if (names.length === 0) throw new DerError('GeneralNames must not be empty');
  return names;
}

export interface NameConstraints {
  permitted: GeneralName[] | undefined;
  excluded: GeneralName[] | undefined;
}

/** Refuses constraint forms RFC 5280 §4.2.1.10 does not define (wildcards, non-CIDR masks, two '@'). */
function checkConstraintSyntax(g: GeneralName): void {
  switch (g.type) {
    case 'dns': {
      // RFC 5280 §4.2.1.10 defines no leading-period form for dNSName (unlike URI and email): refuse it.
      if (g.value !== '' && !isDnsName(g.value, false)) throw new DerError(`dNSName constraint '${g.value}' is not a domain name`);
      return;
    }
    case 'email': {
      const at = g.value.split('@');
      if (at.length > 2) throw new DerError('rfc822Name constraint has more than one @');
      const host = at.length === 2 ? at[1]! : g.value.startsWith('.') ? g.value.slice(1) : g.value;
      if (at.length === 2 && at[0] === '') throw new DerError('rfc822Name constraint has an empty local part');
      if (!isDnsName(host, false)) throw new DerError('rfc822Name constraint has a bad domain');
      return;
    }
    case 'uri': {
      const host = g.value.startsWith('.') ? g.value.slice(1) : g.value;
      if (!isDnsName(host, false)) throw new DerError('uniformResourceIdentifier constraint must be a host or .domain');
      return;
    }
    case 'ip': {
      if (g.value.length !== 8 && g.value.length !== 32) throw new DerError('iPAddress constraint must be address and mask (8 or 32 bytes)');
      const mask = g.value.subarray(g.value.length / 2);
      let seenZero = false;
      for (const byte of mask) {
        for (let bit = 7; bit >= 0; bit--) {
          const one = (byte >> bit) & 1;
          if (one && seenZero) throw new DerError('iPAddress constraint mask is not a CIDR prefix');
          if (!one) seenZero = true;
        }
      }
      return;
    }
    default:
      return;
  }
}

/** NameConstraints ::= SEQUENCE { permittedSubtrees [0] GeneralSubtrees OPTIONAL, excludedSubtrees [1] ... } */
export function parseNameConstraints(der: Uint8Array): NameConstraints {
  const seq = readOne(der, Tag.SEQUENCE);
  const parts = children(seq);
  let permitted: GeneralName[] | undefined;
  let excluded: GeneralName[] | undefined;
  let last = -1;
  for (const p of parts) {
    const idx = p.tag === 0xa0 ? 0 : p.tag === 0xa1 ? 1 : -1;
    if (idx < 0 || idx <= last) throw new DerError('NameConstraints: unexpected element');
    last = idx;
    const subtrees = children(p).map((st) => {
      if (st.tag !== Tag.SEQUENCE) throw new DerError('GeneralSubtree: expected a SEQUENCE');
      const [base, ...rest] = children(st);
      if (!base) throw new DerError('GeneralSubtree: missing base');
      // RFC 5280 §4.2.1.10: minimum MUST be zero (so absent in DER) and maximum MUST be absent.
      if (rest.length) throw new DerError('GeneralSubtree: minimum/maximum are not allowed');
      const g = parseGeneralName(base);
      checkConstraintSyntax(g);
      return g;
    });
    if (subtrees.length === 0) throw new DerError('GeneralSubtrees must not be empty');
    if (idx === 0) permitted = subtrees;
    else excluded = subtrees;
  }
  // RFC 5280 §4.2.1.10: "Conforming CAs MUST NOT issue certificates where name constraints is an empty sequence".
  if (!permitted && !excluded) throw new DerError('NameConstraints must have permitted or excluded subtrees');
  return { permitted, excluded };
}

const MAX_NAME_CHECKS = 1 << 20;

const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/i;

/** A syntactically valid host name; a leading `*.` wildcard label is allowed in SANs only. */
export function isDnsName(s: string, allowWildcard: boolean): boolean {
  if (s.length === 0 || s.length > 253) return false;
  const labels = s.split('.');
  return labels.every((l, i) => LABEL.test(l) || (allowWildcard && i === 0 && l === '*' && labels.length > 1));
}

function dnsMatches(name: string, c: string): boolean {
  const n = name.toLowerCase();
  const k = c.toLowerCase();
  if (k === '') return true;
  if (k.startsWith('.')) return n.endsWith(k);
  // "Any DNS name that can be constructed by simply adding zero or more labels to the left-hand side".
  return n === k || n.endsWith('.' + k);
}

/** Does `*.base` cover some name inside the constraint `c` (c is base plus exactly one label)? */
function wildcardCovers(base: string, c: string): boolean {
  const b = base.toLowerCase();
  const k = c.toLowerCase();
  return k.endsWith('.' + b) && !k.slice(0, -b.length - 1).includes('.');
}

function splitEmail(s: string): { local: string; host: string } | undefined {
  const at = s.lastIndexOf('@');
  if (at <= 0) return undefined;
  const local = s.slice(0, at);
  const host = s.slice(at + 1);
  if (local.includes('@') || !isDnsName(host, false)) return undefined;
  return { local, host };
}

function emailMatches(name: { local: string; host: string }, c: string): boolean {
  if (c.includes('@')) {
    const k = splitEmail(c);
    // The local part is case-sensitive (RFC 5321 §2.4), the host is not.
    return !!k && k.local === name.local && k.host.toLowerCase() === name.host.toLowerCase();
  }
  const h = name.host.toLowerCase();
  const k = c.toLowerCase();
  if (k.startsWith('.')) return h.endsWith(k);
  return h === k;
}

function uriHost(uri: string): string | undefined {
  const m = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)/i.exec(uri);
  const host = m?.[1];
  if (!host || host.startsWith('[')) return undefined;
  return host;
}

function uriMatches(host: string, c: string): boolean {
  const h = host.toLowerCase();
  const k = c.toLowerCase();
  // RFC 5280 §4.2.1.10: a constraint with a leading period names the hosts of a domain; otherwise one host.
  if (k.startsWith('.')) return h.endsWith(k);
  return h === k;
}

function ipMatches(addr: Uint8Array, c: Uint8Array): boolean {
  const n = c.length / 2;
  if (addr.length !== n) return false;
  for (let i = 0; i < n; i++) if ((addr[i]! & c[n + i]!) !== (c[i]! & c[n + i]!)) return false;
  return true;
}

function dnWithin(name: DistinguishedName, c: DistinguishedName): boolean {
  if (c.rdns.length > name.rdns.length) return false;
  return c.rdns.every((r, i) => r === name.rdns[i]);
}

/** The names of one certificate that name constraints apply to. */
export interface SubjectNames {
  subject: DistinguishedName;
  /** undefined when the certificate has no subjectAltName extension. */
  sans: readonly GeneralName[] | undefined;
}

/**
 * Accumulated constraints along a path (RFC 5280 §6.1.2 (b)(c)): every CA's permitted subtrees must each
 * admit a name of their type (an intersection), and no excluded subtree may match it (a union).
 */
export class NameConstraintState {
  private readonly permittedSets: GeneralName[][] = [];
  private readonly excluded: GeneralName[] = [];

  add(nc: NameConstraints): void {
    if (nc.permitted) this.permittedSets.push(nc.permitted);
    if (nc.excluded) this.excluded.push(...nc.excluded);
  }

  get empty(): boolean {
    return this.permittedSets.length === 0 && this.excluded.length === 0;
  }

  /** undefined when every name passes; otherwise why not. */
  check(names: SubjectNames): string | undefined {
    if (this.empty) return undefined;
    const list: GeneralName[] = [];
    if (!names.subject.empty) list.push({ type: 'dn', value: names.subject });
    if (names.sans) list.push(...names.sans);
    else for (const e of names.subject.emails) list.push({ type: 'email', value: e });
    // Bound the work a hostile certificate can cause (names × constraints), as webpki does (limbo nc-dos).
    const constraints = this.excluded.length + this.permittedSets.reduce((a, s) => a + s.length, 0);
    if (list.length * constraints > MAX_NAME_CHECKS) return `too many names (${list.length}) against too many constraints (${constraints})`;
    for (const n of list) {
      const why = this.checkOne(n);
      if (why) return why;
    }
    return undefined;
  }

  private constrains(type: GeneralName['type']): boolean {
    return this.excluded.some((c) => c.type === type) || this.permittedSets.some((s) => s.some((c) => c.type === type));
  }

  private checkOne(n: GeneralName): string | undefined {
    if (!this.constrains(n.type)) return undefined;
    let match: (c: GeneralName) => boolean;
    switch (n.type) {
      case 'dns': {
        if (!isDnsName(n.value, true)) return `dNSName '${n.value}' is malformed`;
        match = (c) => c.type === 'dns' && dnsMatches(n.value, c.value);
        break;
      }
      case 'email': {
        const e = splitEmail(n.value);
        if (!e) return `rfc822Name '${n.value}' is malformed`;
        match = (c) => c.type === 'email' && emailMatches(e, c.value);
        break;
      }
      case 'uri': {
        const h = uriHost(n.value);
        // RFC 5280 §4.2.1.10: a URI without a host cannot be checked against a host constraint: refuse it.
        if (!h) return `URI '${n.value}' has no host name to check against the constraint`;
        match = (c) => c.type === 'uri' && uriMatches(h, c.value);
        break;
      }
      case 'ip': {
        if (n.value.length !== 4 && n.value.length !== 16) return 'iPAddress SAN is neither IPv4 nor IPv6';
        match = (c) => c.type === 'ip' && ipMatches(n.value, c.value);
        break;
      }
      case 'dn':
        match = (c) => c.type === 'dn' && dnWithin(n.value, c.value);
        break;
      default:
        // §4.2.1.10 lets us skip name forms we do not process only by refusing them: fail closed.
        return `a ${n.type} name is constrained by a name form this validator does not process`;
    }
    const excludedMatch =
      n.type === 'dns' && n.value.startsWith('*.')
        ? // A wildcard SAN stands for every name one label deeper: excluded if any of them is.
          (c: GeneralName) => match(c) || (c.type === 'dns' && wildcardCovers(n.value.slice(2), c.value))
        : match;
    if (this.excluded.some(excludedMatch)) return `${n.type} name is in an excluded subtree`;
    for (const set of this.permittedSets) {
      if (set.some((c) => c.type === n.type) && !set.some(match)) return `${n.type} name is outside the permitted subtrees`;
    }
    return undefined;
  }
}
