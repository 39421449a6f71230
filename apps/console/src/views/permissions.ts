// Topic permissions: the account's ordered allow/deny rules over MQTT topic filters, edited as a list
// and saved whole (PUT …/topic-rules). Each filter is checked as it is typed, with the same parser the
// API validates with; the API's bounds answer TOPIC_RULES_INVALID, shown as it comes.
import { TOPIC_RULE_FILTER_MAX_CHARS, TopicPlaceholders, parseTopicFilter, sameTopicRules, type TopicRule, type TopicRules } from '@twoway/contracts';
import { h, icon, replace } from '../dom.js';
import { can, noPermission, type Ctx } from '../session.js';
import { loadInto, saveBar } from '../ui/edit-page.js';
import { emptyState, loading, pageHeader } from '../ui/parts.js';
import type { View } from './view.js';

const EFFECT: Record<TopicRule['effect'], string> = { allow: 'Allow', deny: 'Deny' };
const ACTION: Record<TopicRule['action'], string> = { publish: 'Publish', subscribe: 'Subscribe (and receive)', both: 'Publish and subscribe' };
const PLACEHOLDERS = Object.values(TopicPlaceholders);

/** Why a filter cannot be saved, or undefined. */
export function filterProblem(filter: string): string | undefined {
  if (!filter.trim()) return 'Enter a topic filter, e.g. devices/${clientId}/#.';
  const r = parseTopicFilter(filter);
  return r.ok ? undefined : `${r.problem[0]!.toUpperCase()}${r.problem.slice(1)}.`;
}

export function permissionsView(ctx: Ctx): View {
  const path = `/accounts/${encodeURIComponent(ctx.account.id)}/topic-rules`;
  const mayWrite = can(ctx.session, 'write');
  const body = h('div', { class: 'stack' }, loading('Loading topic permissions…'));
  let isDirty = (): boolean => false;

  const load = (): Promise<void> => loadInto(body, async () => (await ctx.api.get<TopicRules>(path)).rules, render);

  function render(saved: TopicRule[]): void {
    let rules: TopicRule[] = saved.map((r) => ({ ...r }));
    const list = h('div', { class: 'rules' });
    const bar = saveBar('Save rules', () => render(saved));
    const add = h('button', { type: 'button', class: 'btn', disabled: !mayWrite, title: mayWrite ? null : noPermission(ctx.session), onclick: () => addRule() }, icon('plus'), 'Add rule');

    const problems = (): string[] => rules.map((r) => filterProblem(r.filter)).filter((p): p is string => p !== undefined);
    const refresh = (): void => bar.mark(!sameTopicRules(rules, saved), problems().length === 0);
    isDirty = () => !sameTopicRules(rules, saved);

    function addRule(): void {
      rules.push({ effect: 'allow', action: 'both', filter: '' });
      draw();
      list.querySelector<HTMLInputElement>('.rule:last-child input.rule-filter')?.focus();
    }
    function move(i: number, by: -1 | 1): void {
      const j = i + by;
      if (j < 0 || j >= rules.length) return;
      [rules[i], rules[j]] = [rules[j]!, rules[i]!];
      draw();
      list.querySelectorAll<HTMLButtonElement>(`.rule:nth-child(${j + 1}) .rule-move`)[by < 0 ? 0 : 1]?.focus();
    }

    function row(r: TopicRule, i: number): HTMLElement {
      const label = `Rule ${i}`;
      const effect = h('select', { class: 'input rule-effect', disabled: !mayWrite, 'aria-label': `${label}: effect` }, (Object.keys(EFFECT) as TopicRule['effect'][]).map((v) => h('option', { value: v, selected: v === r.effect }, EFFECT[v])));
      const action = h('select', { class: 'input rule-action', disabled: !mayWrite, 'aria-label': `${label}: action` }, (Object.keys(ACTION) as TopicRule['action'][]).map((v) => h('option', { value: v, selected: v === r.action }, ACTION[v])));
      const filter = h('input', { type: 'text', class: 'input mono rule-filter', value: r.filter, disabled: !mayWrite, maxlength: String(TOPIC_RULE_FILTER_MAX_CHARS), spellcheck: 'false', autocomplete: 'off', placeholder: 'devices/${clientId}/#', 'aria-label': `${label}: topic filter` });
      const problem = h('div', { class: 'hint text-danger', 'aria-live': 'polite' });
      const check = (): void => {
        const p = r.filter ? filterProblem(r.filter) : undefined;
        problem.textContent = p ?? '';
        filter.setAttribute('aria-invalid', String(p !== undefined));
      };
      effect.addEventListener('change', () => ((r.effect = effect.value as TopicRule['effect']), refresh()));
      action.addEventListener('change', () => ((r.action = action.value as TopicRule['action']), refresh()));
      filter.addEventListener('input', () => ((r.filter = filter.value), check(), refresh()));
      check();
      const btn = (text: string, aria: string, onclick: () => void, disabled: boolean) =>
        h('button', { type: 'button', class: 'btn btn-sm rule-move', 'aria-label': aria, disabled: !mayWrite || disabled, onclick }, text);
      return h(
        'div',
        { class: 'rule', 'data-rule': String(i) },
        h('span', { class: 'rule-index mono', title: 'Audit events name a rule by this index' }, String(i)),
        effect,
        action,
        h('div', { class: 'rule-filter-cell' }, filter, problem),
        h(
          'div',
          { class: 'rule-buttons' },
          btn('↑', `Move rule ${i} up`, () => move(i, -1), i === 0),
          btn('↓', `Move rule ${i} down`, () => move(i, 1), i === rules.length - 1),
          h('button', { type: 'button', class: 'btn btn-sm btn-danger-ghost', disabled: !mayWrite, 'aria-label': `Remove rule ${i}`, onclick: () => (rules.splice(i, 1), draw()) }, 'Remove'),
        ),
      );
    }

    function draw(): void {
      if (!rules.length) {
        replace(list, emptyState('No rules', `Devices of ${ctx.account.name} publish and subscribe anywhere in the account's topics. Add a rule to say where each device may go.`));
      } else replace(list, ...rules.map(row));
      refresh();
    }

    const form = h(
      'form',
      { class: 'stack', novalidate: true },
      h(
        'section',
        { class: 'card card-pad', 'aria-labelledby': 'perm-rules' },
        h('h2', { id: 'perm-rules', class: 'card-title' }, 'Topic permissions'),
        h(
          'p',
          { class: 'muted' },
          'Each PUBLISH and SUBSCRIBE of a device is checked against these rules from the top: ',
          h('strong', null, 'the first rule that matches decides'),
          ', and with at least one rule, what no rule allows is refused. A subscription is allowed only when an allow rule covers all of it and no deny rule above could match one of its topics. Rules never reach outside the account’s own topics.',
        ),
        h(
          'p',
          { class: 'hint' },
          'Placeholders stand for each device: ',
          ...PLACEHOLDERS.flatMap((p, i) => [h('code', null, p), i < PLACEHOLDERS.length - 1 ? ', ' : '']),
          ' (its credential’s username, its verified certificate’s Common Name, its client id). A value holding + # / or nothing never widens a rule: an allow rule with it matches nothing, a deny rule matches any value there.',
        ),
        list,
        h('div', { class: 'inline-row' }, add),
      ),
      mayWrite ? null : h('p', { class: 'hint' }, noPermission(ctx.session)),
      bar.msg,
      bar.actions,
    );
    bar.onSubmit(form, () => ctx.api.put<TopicRules>(path, { rules }), 'Topic permissions saved. Brokers apply them to live sessions at once.', (next) => render(next.rules), refresh);
    replace(body, form);
    draw();
  }

  void load();
  return {
    el: h('div', { class: 'page' }, pageHeader('Topic permissions', ['Where devices of ', h('strong', null, ctx.account.name), ' may publish and subscribe.']), body),
    hasUnsavedChanges: () => isDirty(),
  };
}
