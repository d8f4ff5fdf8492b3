/**
 * Rule changes as pure functions from one config to the next. They check names only; the service validates
 * the whole resulting config before anything is applied.
 */
import { type Issue, PorttriggerError } from '../domain/errors.js';
import { normalizeRuleName, ruleNameKey } from '../domain/rule-name.js';
import type { Config, Rule } from '../domain/types.js';

function indexOf(config: Config, name: string): number {
  // Stored names are NFC: a name written in another normal form (a decomposed é) still finds its rule.
  const wanted = normalizeRuleName(name);
  return config.rules.findIndex((r) => r.name === wanted);
}

function notFound(name: string): PorttriggerError {
  return new PorttriggerError('RULE_NOT_FOUND', `no rule named "${name}"`);
}

function clashes(config: Config, name: string, except: number): boolean {
  // Names are unique in NFC regardless of case (the validator says so too, but as a plain issue).
  const key = ruleNameKey(name);
  return config.rules.some((r, i) => i !== except && ruleNameKey(r.name) === key);
}

/** The rule with exactly this name. */
export function findRule(config: Config, name: string): Rule | undefined {
  return config.rules[indexOf(config, name)];
}

/** The config with `rule` appended; RULE_EXISTS when the name is taken. */
export function withRuleAdded(config: Config, rule: Rule): Config {
  if (clashes(config, rule.name, -1)) {
    throw new PorttriggerError('RULE_EXISTS', `a rule named "${rule.name}" already exists`);
  }
  return { ...config, rules: [...config.rules, rule] };
}

/** The config with rule `name` replaced by `rule` (which may rename it) at the same position. */
export function withRuleReplaced(config: Config, name: string, rule: Rule): Config {
  const at = indexOf(config, name);
  if (at < 0) throw notFound(name);
  if (clashes(config, rule.name, at)) {
    throw new PorttriggerError(
      'RULE_EXISTS',
      `cannot rename "${name}": a rule named "${rule.name}" already exists`,
    );
  }
  return { ...config, rules: config.rules.map((r, i) => (i === at ? rule : r)) };
}

/** The config without rule `name`. */
export function withRuleRemoved(config: Config, name: string): Config {
  const at = indexOf(config, name);
  if (at < 0) throw notFound(name);
  return { ...config, rules: config.rules.filter((_, i) => i !== at) };
}

/** The config with rule `name` enabled or disabled. */
export function withRuleEnabled(config: Config, name: string, enabled: boolean): Config {
  const at = indexOf(config, name);
  if (at < 0) throw notFound(name);
  return { ...config, rules: config.rules.map((r, i) => (i === at ? { ...r, enabled } : r)) };
}

/**
 * Issues of a whole-config validation, with the paths that point into rule `index` made relative to it (what
 * the client sent as one rule body); issues about other rules keep their full path (`rules[3].open`).
 */
export function issuesForRule(issues: readonly Issue[], index: number): Issue[] {
  return issues.map((i) =>
    i.path[0] === 'rules' && i.path[1] === index ? { ...i, path: i.path.slice(2) } : i,
  );
}
