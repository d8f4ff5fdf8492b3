/**
 * The sentence said after a rule was added, changed, enabled or applied from a proposal when no live trigger
 * connection took it (docs/semantics.md, 5): an application that is already connected must connect again.
 * Undefined when the rule is off or already held.
 * @example reconnectNotice({ name: 'IRC DCC', enabled: true }, table)
 */
export function reconnectNotice(
  rule: { readonly name: string; readonly enabled: boolean },
  table: { readonly entries: readonly { readonly rule: string }[] },
): string | undefined {
  if (!rule.enabled || table.entries.some((e) => e.rule === rule.name)) return undefined;
  return `Nothing is using "${rule.name}" right now: an application that was already connected must reconnect (for example rejoin its server) before the rule takes effect.`;
}
