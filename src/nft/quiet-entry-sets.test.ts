import { describe, expect, it } from 'vitest';
import { quietEntrySets } from './quiet-entry-sets.js';
import type { KernelElement, KernelState } from './state.js';

function stateOf(sets: Record<string, KernelElement[]>): KernelState {
  return {
    table: true,
    sets: new Map(Object.entries(sets).map(([name, elements]) => [name, { name, elements }])),
    maps: new Set(),
    chains: new Set(),
  };
}

const record = (expiresS: number): KernelElement => ({ key: ['7', '192.168.1.20'], expiresS, timeoutS: 60 });

describe('quietEntrySets', () => {
  it('answers for a listing without entries: records age by the time passed, empty sets stay', () => {
    const listed = stateOf({
      hold4: [],
      held4: [],
      pair6: [],
      conflict4: [record(30), record(4)],
      blocked6: [],
    });
    const later = quietEntrySets(listed, 10_000);
    expect(later?.sets.get('conflict4')?.elements).toEqual([{ ...record(30), expiresS: 20 }]);
    expect([...(later?.sets.keys() ?? [])].sort()).toEqual([
      'blocked6',
      'conflict4',
      'held4',
      'hold4',
      'pair6',
    ]);
    // The same moment: nothing changes.
    expect(quietEntrySets(listed, 0)?.sets.get('conflict4')?.elements).toHaveLength(2);
  });

  it.each(['hold4', 'hold6', 'held6', 'pair4', 'taken6', 'target4_3', 'rtarget4_f'])(
    'asks for a listing when the entry set %s holds an element: its remaining time is only a lower bound',
    (name) => {
      const listed = stateOf({ [name]: [{ key: ['7', '192.168.1.20'], expiresS: 500, timeoutS: 600 }] });
      expect(quietEntrySets(listed, 1)).toBeUndefined();
    },
  );

  it('keeps sets that are not ours to age (static elements) as they were listed', () => {
    const other = [{ key: ['10.0.0.0/8'], expiresS: Number.POSITIVE_INFINITY }];
    expect(quietEntrySets(stateOf({ lan4: other }), 60_000)?.sets.get('lan4')?.elements).toEqual(other);
  });
});
