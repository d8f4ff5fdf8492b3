/**
 * Changes to the running config: rule create/replace/delete/enable through the API, written back to the config
 * store, and reloads of the store. Each validates first, applies, and only then saves: nothing half-done.
 */
import { performance } from 'node:perf_hooks';
import { validateConfigChange, validateRule } from '../domain/config.js';
import type { ConfigStore } from '../domain/config-store.js';
import type { ApplyReport } from '../domain/datapath.js';
import { InvalidInputError, type Issue, PorttriggerError } from '../domain/errors.js';
import { normalizeRuleName } from '../domain/rule-name.js';
import type { Config, Rule } from '../domain/types.js';
import {
  findRule,
  issuesForRule,
  withRuleAdded,
  withRuleEnabled,
  withRuleRemoved,
  withRuleReplaced,
} from './config-edit.js';
import type { ServiceContext } from './context.js';
import type { ServiceHistory } from './history.js';
import type { KernelObserver } from './observer.js';

/** The result of a config change through the API. */
export interface ConfigChange {
  readonly config: Config;
  /** The rule created or changed (absent for a deletion). */
  readonly rule?: Rule;
  readonly warnings: readonly Issue[];
  readonly applied: ApplyReport;
}

/** The result of a reload: applied, or refused with every issue (the running config is unchanged then). */
export type ReloadResult =
  | { readonly ok: true; readonly warnings: readonly Issue[]; readonly applied: ApplyReport }
  | { readonly ok: false; readonly issues: readonly Issue[]; readonly warnings: readonly Issue[] };

/** What a rule change would say: every issue, or the warnings of the config it would make. */
export type RuleCheck =
  | { readonly ok: true; readonly rule: Rule; readonly warnings: readonly Issue[] }
  | { readonly ok: false; readonly issues: readonly Issue[]; readonly warnings: readonly Issue[] };

/** The running config and its text, changed only through this; every method runs in the service's queue. */
export class ConfigChanges {
  readonly #ctx: ServiceContext;
  readonly #store: ConfigStore;
  readonly #observer: KernelObserver;
  readonly #history: ServiceHistory;
  #config: Config;
  #text: string;

  /** When the last kernel signal came, while both signal streams run (undefined otherwise). */
  readonly #quietSince: () => number | undefined;

  constructor(
    ctx: ServiceContext,
    parts: {
      store: ConfigStore;
      observer: KernelObserver;
      history: ServiceHistory;
      quietSince?: () => number | undefined;
    },
    config: Config,
    text: string,
  ) {
    this.#ctx = ctx;
    this.#store = parts.store;
    this.#observer = parts.observer;
    this.#history = parts.history;
    this.#quietSince = parts.quietSince ?? (() => undefined);
    this.#config = config;
    this.#text = text;
  }

  /** The running config. */
  get config(): Config {
    return this.#config;
  }

  /** What adding the rule (or replacing rule `replacing` with it) would say; RULE_NOT_FOUND if there is none. */
  checkRule(input: unknown, replacing?: string): RuleCheck {
    const body = replacing === undefined ? input : withName(input, replacing);
    const checked = validateRule(body);
    if (!checked.ok) return checked;
    const rule = checked.value;
    let next: Config;
    try {
      next =
        replacing === undefined
          ? withRuleAdded(this.#config, rule)
          : withRuleReplaced(this.#config, replacing, rule);
    } catch (error) {
      if (!(error instanceof PorttriggerError) || error.code !== 'RULE_EXISTS') throw error;
      return {
        ok: false,
        issues: [{ path: ['name'], code: 'duplicate', message: error.message }],
        warnings: [],
      };
    }
    const index = next.rules.findIndex((r) => r.name === rule.name);
    const whole = validateConfigChange(next, index);
    const warnings = issuesForRule(whole.warnings, index);
    return whole.ok
      ? { ok: true, rule, warnings }
      : { ok: false, issues: issuesForRule(whole.issues, index), warnings };
  }

  /** Adds a rule; RULE_EXISTS if the name is taken. */
  createRule(input: unknown): Promise<ConfigChange> {
    const rule = validRule(input);
    return this.#change('create rule', (config) => {
      const next = withRuleAdded(config, rule);
      return { config: next, index: next.rules.length - 1, name: rule.name };
    });
  }

  /** Replaces rule `name` (the body may rename it); RULE_NOT_FOUND if there is none. */
  replaceRule(name: string, input: unknown): Promise<ConfigChange> {
    const rule = validRule(withName(input, name));
    return this.#change('replace rule', (config) => {
      const next = withRuleReplaced(config, name, rule);
      return { config: next, index: next.rules.findIndex((r) => r.name === rule.name), name: rule.name };
    });
  }

  /** Deletes rule `name`. */
  deleteRule(name: string): Promise<ConfigChange> {
    return this.#change('delete rule', (config) => ({ config: withRuleRemoved(config, name) }));
  }

  /** Enables or disables rule `name`. */
  /** The global switch: off opens nothing, on applies the rules again. */
  setEnabled(enabled: boolean): Promise<ConfigChange> {
    return this.#change(enabled ? 'switch on' : 'switch off', (config) => ({
      config: { ...config, enabled },
    }));
  }

  setRuleEnabled(name: string, enabled: boolean): Promise<ConfigChange> {
    return this.#change(enabled ? 'enable rule' : 'disable rule', (config) => ({
      config: withRuleEnabled(config, name, enabled),
      index: config.rules.findIndex((r) => r.name === normalizeRuleName(name)),
      name: normalizeRuleName(name),
    }));
  }

  /**
   * Does while nothing waits what the first change would otherwise pay for (at 1,000 rules, hundreds of
   * milliseconds): each rule's own checks, and the cut of the config text into one piece per rule.
   */
  prepare(): Promise<void> {
    return this.#ctx.queue.run(async () => {
      if (this.#ctx.stopping()) return;
      validateConfigChange(this.#config, undefined);
      this.#store.render(this.#text, this.#config);
    });
  }

  /** Reads the config store again and applies it; an invalid config changes nothing. */
  reload(): Promise<ReloadResult> {
    const { queue, log, metrics } = this.#ctx;
    return queue.run(async () => {
      this.#assertRunning();
      const { text, result } = await this.#store.read().catch((error: unknown) => {
        // A file that cannot be read (deleted, unreadable) is a refused reload too: SIGHUP has no other voice.
        metrics.reloadFailures++;
        log.error('reload refused: the running config is unchanged', { error });
        throw error;
      });
      if (!result.ok) {
        metrics.reloadFailures++;
        log.error('reload refused: the config file is invalid, the running config is unchanged', {
          path: this.#store.path,
          issues: result.issues.length,
        });
        for (const issue of result.issues) {
          log.error(issue.message, { path: issue.path.join('.'), code: issue.code });
        }
        return { ok: false, issues: result.issues, warnings: result.warnings };
      }
      for (const w of result.warnings) log.warn(w.message, { path: w.path.join('.'), code: w.code });
      await this.#observer.observeQuietly();
      let applied: ApplyReport;
      try {
        applied = await this.#observer.apply(result.value);
      } catch (error) {
        metrics.reloadFailures++;
        log.error('reload failed: the datapath refused the config, the running config is unchanged', {
          error,
        });
        throw error;
      }
      this.#config = result.value;
      this.#text = text;
      metrics.reloads++;
      this.#history.updateSettings(this.#config);
      log.info('config reloaded', { path: this.#store.path, rules: result.value.rules.length, ...applied });
      await this.#observer.observeQuietly({ kind: 'applied' });
      return { ok: true, warnings: result.warnings, applied };
    });
  }

  /**
   * Validates the edited config against what changed (validateConfigChange), applies only what differs, and
   * only then puts the new file in place: its text is written beside it during the apply and renamed over it
   * after. A refused apply drops that text, a failed write puts the previous config back into the kernel. The reads around it list the sets that hold entries, not the whole table, and not even
   * those when no kernel signal came since the last listing and it showed no entry open (`quietSince`).
   */
  #change(
    what: string,
    edit: (config: Config) => { config: Config; index?: number; name?: string },
  ): Promise<ConfigChange> {
    const { queue, log, metrics, tracker, clock } = this.#ctx;
    return queue.run(async () => {
      this.#assertRunning();
      // Where a change's time goes, at debug level: the bench's B6 compares it with the bare transaction.
      const phases = new PhaseTimer();
      const { config: candidate, index, name } = edit(this.#config);
      const result = validateConfigChange(candidate, index);
      const relative = (issues: readonly Issue[]) =>
        index === undefined ? [...issues] : issuesForRule(issues, index);
      if (!result.ok) {
        metrics.reloadFailures++;
        throw new InvalidInputError(
          `${what}: the config would be invalid, nothing changed`,
          relative(result.issues),
        );
      }
      phases.lap('check');
      await this.#assertStoreUnchanged();
      const next = result.value;
      // The store writes only text that reads back as the config (config-file.ts checks what it rendered).
      const text = this.#store.render(this.#text, next);
      phases.lap('render');
      // The new text is written and fsynced while the kernel applies the change; only the rename waits for it.
      const writing = this.#store.prepare(text);
      writing.catch(() => undefined);
      const before = this.#config;
      const quietSince = this.#quietSince();
      const quiet = quietSince === undefined ? {} : { quietSince };
      let applied: ApplyReport;
      try {
        await this.#observer.observeQuietly(undefined, 'entries', quiet);
        phases.lap('readBefore');
        applied = await this.#observer.apply(next, undefined, { change: true, ...quiet });
        phases.lap('apply');
      } catch (error) {
        // Refused: the file stays as it was, and so does its backup.
        await writing.then(
          (prepared) => prepared.discard(),
          () => undefined,
        );
        throw error;
      }
      try {
        await (await writing).commit();
        phases.lap('write');
      } catch (error) {
        log.error(`${what}: writing the config file failed, putting the previous config back`, { error });
        await this.#observer
          .apply(before, tracker.remembered(clock()))
          .catch((e) => log.error('re-applying the previous config failed', { error: e }));
        throw error;
      }
      this.#config = next;
      this.#text = text;
      metrics.reloads++;
      log.info(`${what}: applied and saved`, { rule: name, ...applied });
      await this.#observer.observeQuietly({ kind: 'applied' }, 'change', quiet);
      phases.lap('readAfter');
      log.debug(`${what}: time spent`, { rule: name, ...phases.laps });
      const rule = name === undefined ? undefined : findRule(next, name);
      return { config: next, ...(rule ? { rule } : {}), warnings: relative(result.warnings), applied };
    });
  }

  async #assertStoreUnchanged(): Promise<void> {
    if ((await this.#store.readText()) !== this.#text) {
      throw new PorttriggerError(
        'CONFIG_FILE_CHANGED',
        `${this.#store.path} changed on disk since it was loaded: reload it first (SIGHUP or POST /api/v1/reload)`,
      );
    }
  }

  #assertRunning(): void {
    if (this.#ctx.stopping()) throw new PorttriggerError('SERVICE_STOPPED', 'the service is stopping');
  }
}

/** Milliseconds between laps, by name. */
class PhaseTimer {
  readonly laps: Record<string, number> = {};
  #last = performance.now();

  lap(name: string): void {
    const now = performance.now();
    this.laps[`${name}Ms`] = Math.round((now - this.#last) * 10) / 10;
    this.#last = now;
  }
}

/** The name may be left out of a replacing body: it is the one of the rule replaced then. */
function withName(input: unknown, name: string): unknown {
  return input && typeof input === 'object' && !('name' in input) ? { ...input, name } : input;
}

function validRule(input: unknown): Rule {
  const result = validateRule(input);
  if (!result.ok) throw new InvalidInputError('the rule is invalid: nothing changed', result.issues);
  return result.value;
}
