// An account's topic rules compiled for one session at connect (docs/permissions.md): placeholders
// replaced by the session's identity, rules split by action, so a PUBLISH or a delivery costs a walk
// over the few rules of its kind and no allocation. Pure: the rule list and the identity in, checks out.
//
// A substitution value that is missing, empty, or holds `+`, `#`, `/` or NUL never widens what a
// device may do: an `allow` rule with such a value matches nothing, and a `deny` rule matches any
// value at that level (the placeholder's level becomes `+`).
import { parseTopicFilter, type TopicFilterLevel, type TopicPlaceholder, type TopicRule } from '@twoway/contracts';
import { covers, intersects, matchesTopic } from './filter.js';

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

interface Template {
  index: number;
  allow: boolean;
  publish: boolean;
  subscribe: boolean;
  levels: readonly TopicFilterLevel[];
  /** The filter's levels when it has no placeholder: shared by every session of the account. */
  fixed: readonly string[] | undefined;
}
interface Compiled {
  index: number;
  allow: boolean;
  levels: readonly string[];
}
interface Account {
  templates: Template[];
  /** Whether rule i allows. */
  effects: boolean[];
  /** Compiled once when no rule has a placeholder. */
  shared?: { pub: Compiled[]; sub: Compiled[] };
}

// One template set per rule list (the settings object a cache or an event holds): a fleet of one
// account shares the parsing, and without placeholders the compiled rules too.
const accounts = new WeakMap<readonly TopicRule[], Account | null>();

function templatesOf(rules: readonly TopicRule[]): Account | null {
  let a = accounts.get(rules);
  if (a !== undefined) return a;
  const templates: Template[] = [];
  a = null;
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!;
    const parsed = parseTopicFilter(r.filter);
    // account-settings stores only filters that parse; one that does not cannot be judged: fail closed.
    if (!parsed.ok) break;
    const fixed = parsed.levels.every((l) => l.kind !== 'text' || l.parts.every((p) => typeof p === 'string'))
      ? parsed.levels.map((l) => (l.kind === 'text' ? l.parts.join('') : l.kind))
      : undefined;
    templates.push({ index: i, allow: r.effect === 'allow', publish: r.action !== 'subscribe', subscribe: r.action !== 'publish', levels: parsed.levels, fixed });
  }
  if (templates.length === rules.length) {
    a = { templates, effects: templates.map((t) => t.allow) };
    if (templates.every((t) => t.fixed)) a.shared = split(templates.map((t) => ({ index: t.index, allow: t.allow, levels: t.fixed! })), templates);
  }
  accounts.set(rules, a);
  return a;
}

function split(compiled: Compiled[], templates: Template[]): { pub: Compiled[]; sub: Compiled[] } {
  const pub: Compiled[] = [];
  const sub: Compiled[] = [];
  for (const c of compiled) {
    const t = templates[c.index]!;
    if (t.publish) pub.push(c);
    if (t.subscribe) sub.push(c);
  }
  return { pub, sub };
}

const UNSAFE = /[+#/\u0000]/;
/** A value that can stand in a topic level as itself, or undefined. */
export function substitutionValue(p: TopicPlaceholder, id: TopicIdentity): string | undefined {
  const v = p === 'username' ? id.username : p === 'cn' ? id.cn : id.clientId;
  return v !== undefined && v.length > 0 && !UNSAFE.test(v) ? v : undefined;
}

/** The rule's levels for this identity, or undefined when the rule matches nothing for it. */
function substitute(t: Template, id: TopicIdentity): string[] | undefined {
  const out: string[] = [];
  for (const l of t.levels) {
    if (l.kind !== 'text') {
      out.push(l.kind);
      continue;
    }
    let text: string | undefined = '';
    for (const p of l.parts) {
      const v = typeof p === 'string' ? p : substitutionValue(p.placeholder, id);
      if (v === undefined) {
        text = undefined;
        break;
      }
      text += v;
    }
    if (text === undefined) {
      if (t.allow) return undefined;
      text = '+';
    }
    out.push(text);
  }
  return out;
}

function firstMatch(list: readonly Compiled[], topic: string): number {
  for (let i = 0; i < list.length; i++) if (matchesTopic(list[i]!.levels, topic)) return list[i]!.index;
  return NO_RULE;
}

/** Refuses everything: the rules could not be read. */
function denyAll(rules: readonly TopicRule[]): TopicPermissions {
  return { rules, publish: () => NO_RULE, receive: () => NO_RULE, subscribe: () => NO_RULE, allows: () => false };
}

/** The session's permissions, or undefined when the account has no rules (the whole namespace is the device's). */
export function compileTopicRules(rules: readonly TopicRule[] | undefined, id: TopicIdentity): TopicPermissions | undefined {
  if (!rules || rules.length === 0) return undefined;
  const a = templatesOf(rules);
  if (!a) return denyAll(rules);
  let lists = a.shared;
  if (!lists) {
    const compiled: Compiled[] = [];
    for (const t of a.templates) {
      const levels = t.fixed ?? substitute(t, id);
      if (levels) compiled.push({ index: t.index, allow: t.allow, levels });
    }
    lists = split(compiled, a.templates);
  }
  const { pub, sub } = lists;
  const effects = a.effects;
  return {
    rules,
    publish: (topic) => firstMatch(pub, topic),
    receive: (topic) => firstMatch(sub, topic),
    subscribe(filter) {
      const f = filter.split('/');
      for (const c of sub) {
        // An allow rule grants a subscription only when it covers all of it; a deny rule refuses one
        // it shares a single topic with, so a granted subscription never receives a denied topic.
        if (covers(c.levels, f) || (!c.allow && intersects(c.levels, f))) return c.index;
      }
      return NO_RULE;
    },
    allows: (rule) => rule >= 0 && effects[rule] === true,
  };
}
