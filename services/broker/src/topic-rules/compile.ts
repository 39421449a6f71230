// An account's topic rules compiled for one session at connect (docs/permissions.md). The rules are
// parsed once per account and shared by all its sessions; a session adds only its identity's values,
// checked once, so a thousand sessions of an account cost a thousand small objects, not a thousand
// copies of its rules. A PUBLISH or a delivery then walks the few rules of its kind, comparing the
// topic in place: no allocation. Pure: the rule list and the identity in, checks out.
//
// A substitution value that is missing, empty, or holds `+`, `#`, `/` or NUL never widens what a
// device may do: an `allow` rule that needs it matches nothing, and in a `deny` rule the level that
// holds it matches any level (as `+`).
import { parseTopicFilter, type TopicPlaceholder, type TopicRule } from '@twoway/contracts';
import { covers, intersects } from './filter.js';

export interface TopicIdentity {
  /** The verified credential's username. */
  username: string | undefined;
  /** The Common Name of the session's verified certificate; undefined without one (plain TLS, fallback). */
  cn: string | undefined;
  /** The client id as the device sent it. */
  clientId: string;
}

/** No rule matched: with rules, a denial (TOPIC_NOT_ALLOWED). */
export const NO_RULE = -1;

/**
 * Checks return the index (in the account's list) of the rule that decides, or NO_RULE; `allows`
 * says whether that outcome lets it through.
 */
export interface TopicPermissions {
  /** The list compiled: a change event carrying an equal list needs no new compile. */
  readonly rules: readonly TopicRule[];
  publish(topic: string): number;
  /** A message about to be delivered to the session (its subscriptions were checked when made). */
  receive(topic: string): number;
  subscribe(filter: string): number;
  allows(rule: number): boolean;
}

// Placeholders by number: a session's values are an array in this order, and a level records the
// ones it needs as bits.
const SLOT: Record<TopicPlaceholder, number> = { username: 0, cn: 1, clientId: 2 };
const TEXT = 0;
const ONE = 1;
const REST = 2;
const TEMPLATE = 3;
interface Level {
  kind: typeof TEXT | typeof ONE | typeof REST | typeof TEMPLATE;
  /** TEXT: the level itself. */
  text: string;
  /** TEMPLATE: literal parts and placeholder slots, in order. */
  parts: readonly (string | number)[];
  /** TEMPLATE: bit 1 << slot of each placeholder it holds. */
  needs: number;
  /** TEMPLATE: its place in the account's `templates`, and in each session's `texts`. */
  at: number;
}
interface Rule {
  index: number;
  allow: boolean;
  levels: readonly Level[];
  needs: number;
}
interface AccountRules {
  pub: readonly Rule[];
  sub: readonly Rule[];
  /** Every TEMPLATE level of the rules, once: a session fills in their text for its identity. */
  templates: readonly Level[];
  /** Whether rule i allows. */
  effects: readonly boolean[];
}

// One parse per rule list (the settings object a cache or an event holds), shared by the account's sessions.
const accounts = new WeakMap<readonly TopicRule[], AccountRules | null>();

function accountRules(rules: readonly TopicRule[]): AccountRules | null {
  let a = accounts.get(rules);
  if (a !== undefined) return a;
  const pub: Rule[] = [];
  const sub: Rule[] = [];
  const templates: Level[] = [];
  a = { pub, sub, templates, effects: rules.map((r) => r.effect === 'allow') };
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!;
    const parsed = parseTopicFilter(r.filter);
    // account-settings stores only filters that parse; one that does not cannot be judged: fail closed.
    if (!parsed.ok) {
      a = null;
      break;
    }
    const levels = parsed.levels.map((l): Level => {
      if (l.kind === '+') return { kind: ONE, text: '+', parts: [], needs: 0, at: -1 };
      if (l.kind === '#') return { kind: REST, text: '#', parts: [], needs: 0, at: -1 };
      if (l.parts.every((p) => typeof p === 'string')) return { kind: TEXT, text: l.parts.join(''), parts: [], needs: 0, at: -1 };
      const parts = l.parts.map((p) => (typeof p === 'string' ? p : SLOT[p.placeholder]));
      const t: Level = { kind: TEMPLATE, text: '', parts, needs: parts.reduce<number>((n, p) => (typeof p === 'number' ? n | (1 << p) : n), 0), at: templates.length };
      templates.push(t);
      return t;
    });
    const rule: Rule = { index: i, allow: r.effect === 'allow', levels, needs: levels.reduce((n, l) => n | l.needs, 0) };
    if (r.action !== 'subscribe') pub.push(rule);
    if (r.action !== 'publish') sub.push(rule);
  }
  accounts.set(rules, a);
  return a;
}

const UNSAFE = /[+#/\u0000]/;
const safe = (v: string | undefined): string | undefined => (v !== undefined && v.length > 0 && !UNSAFE.test(v) ? v : undefined);

const DOLLAR = 36; // '$'

/**
 * A wildcard level, or one whose value is missing (only in a deny rule, see `first`): it matches any
 * level, as `+`. A module function: a closure made in `matches` on every call made it twenty times slower.
 */
const isWild = (l: Level, missing: number): boolean => l.kind === ONE || l.kind === REST || (l.kind === TEMPLATE && (l.needs & missing) !== 0);

class SessionPermissions implements TopicPermissions {
  /** Bit 1 << slot of each placeholder this session has no safe value for. */
  private readonly missing: number;
  /**
   * The text of each of the account's TEMPLATE levels for this identity, undefined where a value is
   * missing. A level that is one placeholder is the value itself: no string is made for it.
   */
  private readonly texts: (string | undefined)[];

  constructor(readonly rules: readonly TopicRule[], private readonly account: AccountRules, id: TopicIdentity) {
    const values = [safe(id.username), safe(id.cn), safe(id.clientId)];
    this.missing = values.reduce<number>((n, v, slot) => (v === undefined ? n | (1 << slot) : n), 0);
    this.texts = account.templates.map((l) => {
      if ((l.needs & this.missing) !== 0) return undefined;
      const only = l.parts.length === 1 ? l.parts[0] : undefined;
      return typeof only === 'number' ? values[only] : l.parts.map((p) => (typeof p === 'string' ? p : values[p]!)).join('');
    });
  }

  publish(topic: string): number {
    return this.first(this.account.pub, topic);
  }
  receive(topic: string): number {
    return this.first(this.account.sub, topic);
  }

  subscribe(filter: string): number {
    const f = filter.split('/');
    for (const r of this.account.sub) {
      const levels = this.levelsOf(r);
      // An allow rule grants a subscription only when it covers all of it; a deny rule refuses one
      // it shares a single topic with, so a granted subscription never receives a denied topic.
      if (levels && (covers(levels, f) || (!r.allow && intersects(levels, f)))) return r.index;
    }
    return NO_RULE;
  }

  allows(rule: number): boolean {
    return rule >= 0 && this.account.effects[rule] === true;
  }

  private first(rules: readonly Rule[], topic: string): number {
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i]!;
      if (r.allow && (r.needs & this.missing) !== 0) continue;
      if (this.matches(r.levels, topic)) return r.index;
    }
    return NO_RULE;
  }

  /** Does the rule's filter, with this session's values, match `topic` ([MQTT-4.7], as filter.ts `matchesTopic`)? */
  private matches(levels: readonly Level[], topic: string): boolean {
    const missing = this.missing;
    // [MQTT-4.7.2-1] a filter starting with a wildcard matches no topic starting with `$`.
    if (topic.charCodeAt(0) === DOLLAR && isWild(levels[0]!, missing)) return false;
    let pos = 0;
    for (let i = 0; i < levels.length; i++) {
      const l = levels[i]!;
      if (l.kind === REST) return true;
      if (pos > topic.length) return false;
      let end = topic.indexOf('/', pos);
      if (end === -1) end = topic.length;
      // ONE matches any level, and so does a TEMPLATE level without its text (a deny rule's, see `first`).
      const text = l.kind === TEXT ? l.text : l.kind === TEMPLATE ? this.texts[l.at] : undefined;
      if (text !== undefined && (end - pos !== text.length || !topic.startsWith(text, pos))) return false;
      pos = end + 1;
    }
    return pos === topic.length + 1;
  }

  /** The rule's filter as levels for this session, or undefined when it matches nothing for it. */
  private levelsOf(r: Rule): string[] | undefined {
    if (r.allow && (r.needs & this.missing) !== 0) return undefined;
    return r.levels.map((l) => (l.kind !== TEMPLATE ? l.text : (this.texts[l.at] ?? '+')));
  }
}

/** Refuses everything: the rules could not be read. */
function denyAll(rules: readonly TopicRule[]): TopicPermissions {
  return { rules, publish: () => NO_RULE, receive: () => NO_RULE, subscribe: () => NO_RULE, allows: () => false };
}

/** The session's permissions, or undefined when the account has no rules (the whole namespace is the device's). */
export function compileTopicRules(rules: readonly TopicRule[] | undefined, id: TopicIdentity): TopicPermissions | undefined {
  if (!rules || rules.length === 0) return undefined;
  const a = accountRules(rules);
  return a ? new SessionPermissions(rules, a, id) : denyAll(rules);
}
