/**
 * Which rules the rules page shows: those that match the search, a page of them at a time. A router with a
 * thousand rules gets a page of {@link RULES_PER_PAGE}, not a megabyte of HTML on every visit and every save.
 */
import type { Rule } from '../domain/types.js';
import { ruleSentence } from './sentence.js';

/** Rules on one page of the list. */
export const RULES_PER_PAGE = 50;
/** The longest search text kept (a longer one matches nothing anyway, and is not echoed back whole). */
const MAX_QUERY = 100;

/** What the list was asked for: `?q=`, `?page=`, and `?show=` (the page holding that rule, after a save). */
export interface RuleListQuery {
  readonly q?: string | undefined;
  readonly page?: string | undefined;
  readonly show?: string | undefined;
}

/** One page of the list and where it sits. */
export interface RuleListView {
  /** The search text as used (trimmed, NFC), '' for none. */
  readonly query: string;
  readonly rules: readonly Rule[];
  /** 1-based. */
  readonly page: number;
  readonly pages: number;
  /** How many rules match the search (all rules without one). */
  readonly matching: number;
  /** Index (0-based) of the first rule shown among those matching. */
  readonly first: number;
  readonly total: number;
}

/** Does `rule` match the (lower-case) search text: its name, description or sentence (ports, protocols). */
function matches(rule: Rule, needle: string): boolean {
  return (
    rule.name.toLowerCase().includes(needle) ||
    (rule.description ?? '').toLowerCase().includes(needle) ||
    ruleSentence(rule).toLowerCase().includes(needle)
  );
}

/**
 * The page of rules that `query` asks for. A page past the end shows the last one; `show` (a rule's name)
 * picks the page that holds it and clears the search, so a saved or switched rule is on the screen.
 * @example ruleListView(rules, { q: 'game' }) // the rules whose name, description or ports say "game"
 */
export function ruleListView(all: readonly Rule[], query: RuleListQuery): RuleListView {
  const shown = query.show?.normalize('NFC');
  const shownAt = shown === undefined ? -1 : all.findIndex((r) => r.name === shown);
  const text = shownAt >= 0 ? '' : (query.q ?? '').trim().normalize('NFC').slice(0, MAX_QUERY);
  const needle = text.toLowerCase();
  const matching = needle === '' ? all : all.filter((r) => matches(r, needle));
  const pages = Math.max(1, Math.ceil(matching.length / RULES_PER_PAGE));
  const asked = /^\d{1,6}$/.test(query.page ?? '') ? Number(query.page) : 1;
  const page = shownAt >= 0 ? Math.floor(shownAt / RULES_PER_PAGE) + 1 : Math.min(pages, Math.max(1, asked));
  const first = (page - 1) * RULES_PER_PAGE;
  return {
    query: text,
    rules: matching.slice(first, first + RULES_PER_PAGE),
    page,
    pages,
    matching: matching.length,
    first,
    total: all.length,
  };
}

/** The list's address for a page of a search: `/rules?q=game&page=2`. */
export function ruleListHref(query: string, page: number): string {
  const params = new URLSearchParams();
  if (query !== '') params.set('q', query);
  if (page > 1) params.set('page', String(page));
  const search = params.toString();
  return search === '' ? '/rules' : `/rules?${search}`;
}
