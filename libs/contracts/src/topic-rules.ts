// Topic permissions of an account: an ordered list of allow/deny rules over MQTT topic filters, with
// placeholders for the device's identity (docs/permissions.md). The schema and the filter syntax are
// declared once here: account-settings validates with them, the broker compiles them, the console
// checks a filter as it is typed.
import { Type, type Static } from '@sinclair/typebox';

/**
 * Hard caps of the schema. The operator's bounds (TWOWAY_TOPIC_RULES_MAX,
 * TWOWAY_TOPIC_RULE_FILTER_MAX_LENGTH) are at most these: a settings event carries the list twice
 * (before and after), and must stay well below NATS' 1 MB message limit.
 */
export const TOPIC_RULES_MAX_ITEMS = 200;
export const TOPIC_RULE_FILTER_MAX_CHARS = 1024;

export const TopicRuleEffect = Type.Union([Type.Literal('allow'), Type.Literal('deny')]);
export type TopicRuleEffect = Static<typeof TopicRuleEffect>;
export const TopicRuleAction = Type.Union([Type.Literal('publish'), Type.Literal('subscribe'), Type.Literal('both')]);
export type TopicRuleAction = Static<typeof TopicRuleAction>;

export const TopicRule = Type.Object(
  {
    effect: { ...TopicRuleEffect, description: '`allow` or `deny`. The first rule that matches decides; nothing matching is a denial.' },
    action: { ...TopicRuleAction, description: '`publish` (PUBLISH), `subscribe` (SUBSCRIBE and receiving messages) or `both`.' },
    filter: Type.String({
      minLength: 1,
      maxLength: TOPIC_RULE_FILTER_MAX_CHARS,
      description: 'An MQTT topic filter as the device sees its topics (`+` one level, `#` the rest), with `${username}`, `${cn}` and `${clientId}` standing for the device\'s identity.',
    }),
  },
  { additionalProperties: false },
);
export type TopicRule = Static<typeof TopicRule>;
export const TopicRuleList = Type.Array(TopicRule, { maxItems: TOPIC_RULES_MAX_ITEMS });

/** `GET|PUT /api/v1/accounts/{id}/topic-rules`: the whole ordered list (empty: no rules, devices use the whole namespace). */
export const TopicRules = Type.Object({ rules: TopicRuleList }, { additionalProperties: false });
export type TopicRules = Static<typeof TopicRules>;

/** What a placeholder stands for: the verified credential's username, the verified certificate's CN, the client id sent. */
export const TopicPlaceholders = { username: '${username}', cn: '${cn}', clientId: '${clientId}' } as const;
export type TopicPlaceholder = keyof typeof TopicPlaceholders;

/** One level of a rule's filter: a wildcard, or text in which placeholders alternate with literal parts. */
export type TopicFilterLevel = { kind: '+' } | { kind: '#' } | { kind: 'text'; parts: readonly (string | { placeholder: TopicPlaceholder })[] };

export type TopicFilterParse = { ok: true; levels: TopicFilterLevel[] } | { ok: false; problem: string };

const PLACEHOLDER_NAMES = new Set<string>(Object.keys(TopicPlaceholders));
// C0 controls and DEL: NUL is forbidden by MQTT [MQTT-4.7.3-2]; the others would reach logs and the console.
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * A rule's filter, level by level, or why it is not one: [MQTT-4.7.1] `#` alone in the last level,
 * `+` alone in its level; `${` always opens one of the three placeholders, closed by `}`.
 */
export function parseTopicFilter(filter: string): TopicFilterParse {
  if (filter.length === 0) return { ok: false, problem: 'the filter is empty' };
  if (CONTROL.test(filter)) return { ok: false, problem: 'the filter contains a control character' };
  const raw = filter.split('/');
  const levels: TopicFilterLevel[] = [];
  for (let i = 0; i < raw.length; i++) {
    const level = raw[i]!;
    if (level === '#') {
      if (i !== raw.length - 1) return { ok: false, problem: "'#' must be the last level" };
      levels.push({ kind: '#' });
      continue;
    }
    if (level === '+') {
      levels.push({ kind: '+' });
      continue;
    }
    if (level.includes('#') || level.includes('+')) return { ok: false, problem: `'+' and '#' must be a whole level (level ${i + 1}: '${level}')` };
    const parts: (string | { placeholder: TopicPlaceholder })[] = [];
    let at = 0;
    for (;;) {
      const open = level.indexOf('${', at);
      if (open === -1) break;
      const close = level.indexOf('}', open);
      if (close === -1) return { ok: false, problem: `unclosed placeholder in level ${i + 1}: '${level}'` };
      const name = level.slice(open + 2, close);
      if (!PLACEHOLDER_NAMES.has(name)) return { ok: false, problem: `unknown placeholder '\${${name}}': use ${Object.values(TopicPlaceholders).join(', ')}` };
      if (open > at) parts.push(level.slice(at, open));
      parts.push({ placeholder: name as TopicPlaceholder });
      at = close + 1;
    }
    if (at < level.length || parts.length === 0) parts.push(level.slice(at));
    levels.push({ kind: 'text', parts });
  }
  return { ok: true, levels };
}

/** Two lists say the same (absent and empty alike: no rules). */
export function sameTopicRules(a: readonly TopicRule[] | undefined, b: readonly TopicRule[] | undefined): boolean {
  if (a === b) return true;
  const x = a ?? [];
  const y = b ?? [];
  return x.length === y.length && x.every((r, i) => r.effect === y[i]!.effect && r.action === y[i]!.action && r.filter === y[i]!.filter);
}
