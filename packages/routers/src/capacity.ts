/**
 * Returns `ceil(slots / experts)`, at least 1. A relative slack of 1e-9 absorbs float64 rounding,
 * such as 1.1 · 10 = 11.000000000000002, that would otherwise add a slot.
 */
export function capacityOf(slots: number, experts: number): number {
  const exact = slots / experts;
  return Math.max(1, Math.ceil(exact - 1e-9 * Math.max(1, exact)));
}
