/**
 * The rule pages: the list, the add and edit form, delete, enable and disable. A submitted form is the body a
 * REST client sends: the service says what is wrong with it or what it warns about, the form shows that, and
 * saving goes through the same operations as `POST /rules` and `PUT /rules/{name}`.
 */
import type { Context } from 'hono';
import { validateRule } from '../../domain/config.js';
import { InvalidInputError, type Issue } from '../../domain/errors.js';
import type { LearnProposal } from '../../domain/learn/proposals.js';
import { findPreset, PRESETS, presetRuleInput } from '../../domain/presets.js';
import { reconnectNotice } from '../../domain/reconnect.js';
import type { Rule } from '../../domain/types.js';
import { runOperation } from '../../routes/operations.js';
import type { Env, Notice, PageStatus, PanelApp, PanelContext } from '../context.js';
import { EMPTY_FIELDS, fieldsFromForm, fieldsFromRule, type RuleFields, ruleInput } from '../rule-form.js';
import { ruleListView } from '../rule-list.js';
import { NoticeSwap } from '../views/layout.js';
import { DeleteConfirm, RuleForm, RuleItem, RuleList } from '../views/rules.js';

interface FormOptions {
  readonly fields: RuleFields;
  readonly action: string;
  readonly issues?: readonly Issue[];
  readonly warnings?: readonly Issue[];
  readonly editing?: string;
  readonly presetId?: string;
  readonly notice?: Notice;
}

/** A rule input (a preset's, a proposal's) as form fields, defaults filled in; an empty form if it is none. */
function fieldsOf(input: unknown): RuleFields {
  const rule = validateRule(input);
  return rule.ok ? fieldsFromRule(rule.value) : EMPTY_FIELDS;
}

/** Registers the rule pages on the panel (behind its session and CSRF checks). */
export function rulePages(app: PanelApp, ctx: PanelContext): void {
  const { service } = ctx;
  const listPage = (c: Context<Env>, notice: Notice = ctx.notice(c), status: PageStatus = 200) =>
    ctx.page(
      c,
      {
        title: 'Rules',
        page: 'rules',
        csrf: ctx.csrfOf(c),
        notice,
        children: (
          <RuleList
            view={ruleListView(service.config.rules, {
              q: c.req.query('q'),
              page: c.req.query('page'),
              show: c.req.query('show'),
            })}
            csrf={ctx.csrfOf(c)}
            globalOn={service.config.enabled}
          />
        ),
      },
      status,
    );
  const formPage = (c: Context<Env>, options: FormOptions, status: PageStatus = 200) =>
    ctx.page(
      c,
      {
        title: options.editing ? `Edit ${options.editing}` : 'Add a rule',
        page: 'rules',
        csrf: ctx.csrfOf(c),
        notice: options.notice,
        children: (
          <RuleForm
            fields={options.fields}
            action={options.action}
            csrf={ctx.csrfOf(c)}
            issues={options.issues ?? []}
            warnings={options.warnings ?? []}
            {...(options.editing ? {} : { presets: PRESETS })}
            {...(options.presetId ? { presetId: options.presetId } : {})}
          />
        ),
      },
      status,
    );
  const missing = (c: Context<Env>) =>
    ctx.page(
      c,
      {
        title: 'No such rule',
        page: 'rules',
        csrf: ctx.csrfOf(c),
        children: (
          <p>
            <a href="/rules">Back to the rules</a>
          </p>
        ),
      },
      404,
    );
  const ruleNamed = (c: Context<Env>): Rule | undefined => {
    const name = c.req.param('name') ?? '';
    return service.config.rules.find((r) => r.name === name.normalize('NFC'));
  };

  /** The list after a change: its notice, on the page that holds rule `name` (gone: the first page). */
  const listAfter = (done: string, name: string) =>
    `/rules?${new URLSearchParams({ done, ...(name !== '' ? { show: name } : {}) }).toString()}`;
  /** Shows the service's issues, then its warnings until confirmed, then saves through the operation. */
  const submit = async (c: Context<Env>, editing: string | undefined) => {
    const form = await c.req.parseBody({ all: true });
    const action = editing ? `/rules/${encodeURIComponent(editing)}/edit` : '/rules/new';
    let fields = fieldsFromForm(form);
    const base = { fields, action, ...(editing ? { editing } : {}) };
    const add = form['_add'];
    if (add === 'trigger' || add === 'open') {
      fields = { ...fields, [add]: [...fields[add], { protocol: 'tcp', ports: '' }] };
      return formPage(c, { ...base, fields });
    }
    const input = ruleInput(fields);
    const check = service.checkRule(input, editing);
    if (!check.ok) return formPage(c, { ...base, issues: check.issues }, 400);
    if (check.warnings.length > 0 && form['_confirm'] !== 'yes') {
      return formPage(c, { ...base, warnings: check.warnings });
    }
    try {
      if (editing) await runOperation(service, 'replaceRule', { params: { name: editing }, body: input });
      else await runOperation(service, 'createRule', { body: input });
    } catch (error) {
      if (error instanceof InvalidInputError) return formPage(c, { ...base, issues: error.issues }, 400);
      const { notice, status } = ctx.failure(error);
      return formPage(c, { ...base, notice }, status);
    }
    // Nothing live took the rule: an application already connected must reconnect (docs/semantics.md, 5).
    const saved = service.config.rules.find((r) => r.name === input['name']);
    // The change read the table after itself: a fresh read here would cost a whole kernel listing per save.
    const table = service.lastTable() ?? (await service.table().catch(() => ({ entries: [] })));
    const idle = saved !== undefined && reconnectNotice(saved, table) !== undefined;
    // Back to the page of the list that holds the rule, not to the first of a thousand.
    return c.redirect(listAfter(idle ? 'saved-idle' : 'saved', saved?.name ?? ''), 303);
  };
  /** Runs a change of rule `name` through its operation; a failure shows on the list with the API's status. */
  const change = async (c: Context<Env>, run: (name: string) => Promise<unknown>, done: string) => {
    const rule = ruleNamed(c);
    if (!rule) return missing(c);
    try {
      await run(rule.name);
    } catch (error) {
      const { notice, status } = ctx.failure(error);
      return listPage(c, notice, status);
    }
    return c.redirect(listAfter(done, rule.name), 303);
  };

  app.get('/rules', (c) => listPage(c));
  app.get('/rules/new', async (c) => {
    // A proposal of learn mode: the normal form, filled in, to edit before saving.
    const learned = c.req.query('learned');
    if (learned !== undefined) {
      let proposals: readonly LearnProposal[] = [];
      try {
        ({ proposals } = await service.learn.proposals());
      } catch {
        // no session yet: an empty form
      }
      const proposal = proposals.find((p) => String(p.id) === learned);
      // A low-confidence proposal needs the tick of the learn page first.
      if (proposal?.confidence === 'low' && c.req.query('lowConfidence') !== '1') return c.redirect('/learn');
      return formPage(c, { fields: fieldsOf(proposal?.rule), action: '/rules/new' });
    }
    const preset = findPreset(c.req.query('preset') ?? '');
    if (!preset) return formPage(c, { fields: EMPTY_FIELDS, action: '/rules/new' });
    return formPage(c, {
      fields: fieldsOf(presetRuleInput(preset)),
      action: '/rules/new',
      presetId: preset.id,
    });
  });
  app.post('/rules/new', (c) => submit(c, undefined));
  app.get('/rules/:name/edit', (c) => {
    const rule = ruleNamed(c);
    if (!rule) return missing(c);
    return formPage(c, {
      fields: fieldsFromRule(rule),
      action: `/rules/${encodeURIComponent(rule.name)}/edit`,
      editing: rule.name,
    });
  });
  app.post('/rules/:name/edit', (c) => {
    const rule = ruleNamed(c);
    return rule ? submit(c, rule.name) : missing(c);
  });
  app.get('/rules/:name/delete', (c) => {
    const rule = ruleNamed(c);
    if (!rule) return missing(c);
    return ctx.page(c, {
      title: `Delete ${rule.name}`,
      page: 'rules',
      csrf: ctx.csrfOf(c),
      children: <DeleteConfirm rule={rule} csrf={ctx.csrfOf(c)} />,
    });
  });
  app.post('/rules/:name/delete', (c) =>
    change(c, (name) => runOperation(service, 'deleteRule', { params: { name } }), 'deleted'),
  );
  /**
   * A rule's switch. From the page's script (htmx) the answer is the rule's item in its new state and the
   * notice, swapped in place: no page to load again after the change. A plain form gets the list again.
   */
  const toggle = async (c: Context<Env>, enable: boolean) => {
    if (!c.req.header('hx-request')) {
      const operation = enable ? 'enableRule' : 'disableRule';
      return change(
        c,
        (name) => runOperation(service, operation, { params: { name } }),
        enable ? 'enabled' : 'disabled',
      );
    }
    const rule = ruleNamed(c);
    if (!rule) {
      const notice = {
        kind: 'error',
        text: `No rule named "${c.req.param('name')}". Nothing changed.`,
      } as const;
      return c.html(String(<NoticeSwap notice={notice} />), 404);
    }
    let notice: Notice = { kind: 'ok', text: enable ? 'The rule is on.' : 'The rule is off.' };
    let status: PageStatus = 200;
    try {
      await runOperation(service, enable ? 'enableRule' : 'disableRule', { params: { name: rule.name } });
    } catch (error) {
      ({ notice, status } = ctx.failure(error));
    }
    const now = service.config.rules.find((r) => r.name === rule.name) ?? rule;
    return c.html(
      `${String(<RuleItem rule={now} csrf={ctx.csrfOf(c)} />)}${String(<NoticeSwap notice={notice} />)}`,
      status,
    );
  };
  app.post('/rules/:name/enable', (c) => toggle(c, true));
  app.post('/rules/:name/disable', (c) => toggle(c, false));
}
