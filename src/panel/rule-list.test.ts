import { describe, expect, it } from 'vitest';
import { rule } from '../../test/factories.js';
import { RULES_PER_PAGE, ruleListHref, ruleListView } from './rule-list.js';

/** 120 rules: `rule-0` … `rule-119`, rule i triggering on TCP 10000+i; rule 7 describes itself. */
const RULES = Array.from({ length: 120 }, (_, i) =>
  rule({
    name: `rule-${i}`,
    trigger: [{ protocol: 'tcp', ports: String(10_000 + i) }],
    ...(i === 7 ? { description: 'The Quake server' } : {}),
  }),
);
const names = (view: ReturnType<typeof ruleListView>) => view.rules.map((r) => r.name);

describe('the rules page list: a page at a time, with a search', () => {
  it('shows the first page of a long list and counts the rest', () => {
    const view = ruleListView(RULES, {});
    expect(view.rules).toHaveLength(RULES_PER_PAGE);
    expect(names(view)[0]).toBe('rule-0');
    expect(view).toMatchObject({ page: 1, pages: 3, matching: 120, total: 120, first: 0, query: '' });
  });

  it.each([
    ['2', 2, 'rule-50'],
    ['3', 3, 'rule-100'],
    ['99', 3, 'rule-100'],
    ['0', 1, 'rule-0'],
    ['-1', 1, 'rule-0'],
    ['two', 1, 'rule-0'],
    ['1e3', 1, 'rule-0'],
  ])('reads page %j as page %i', (page, shown, firstName) => {
    const view = ruleListView(RULES, { page });
    expect(view.page).toBe(shown);
    expect(names(view)[0]).toBe(firstName);
  });

  it.each([
    ['name', 'rule-11', ['rule-11', 'rule-110', 'rule-111', 'rule-112', 'rule-113']],
    ['description, any case', 'quake', ['rule-7']],
    ['port in the sentence', '10042', ['rule-42']],
  ])('finds rules by %s', (_what, q, first) => {
    expect(names(ruleListView(RULES, { q })).slice(0, 5)).toEqual(first);
  });

  it('pages through the rules that match, and says when none does', () => {
    const view = ruleListView(RULES, { q: ' RULE-1 ', page: '2' });
    // rule-1, rule-10…19, rule-100…119: 31 match, a single page.
    expect(view).toMatchObject({ query: 'RULE-1', matching: 31, pages: 1, page: 1 });
    expect(ruleListView(RULES, { q: 'nothing like it' })).toMatchObject({ matching: 0, rules: [], pages: 1 });
  });

  it('opens the page that holds a shown rule, search or not', () => {
    const view = ruleListView(RULES, { show: 'rule-77', q: 'quake', page: '1' });
    expect(view).toMatchObject({ page: 2, query: '' });
    expect(names(view)).toContain('rule-77');
    // A rule that is gone (deleted): the search and page as asked.
    expect(ruleListView(RULES, { show: 'gone', page: '3' }).page).toBe(3);
  });

  it('links a page of a search with the text encoded', () => {
    expect(ruleListHref('', 1)).toBe('/rules');
    expect(ruleListHref('', 2)).toBe('/rules?page=2');
    expect(ruleListHref('a&b <c>', 3)).toBe('/rules?q=a%26b+%3Cc%3E&page=3');
  });
});
