import type { Allocation, AllocationContext, ModuleAllocation } from '@guilomo/core';
import { formatValue, GuiLoMoError } from '@guilomo/core';
import { moduleParameterCount } from './parameter-count.js';
import { checkInteger } from './params.js';

/** Options of {@link validateAllocation}. */
export interface ValidationOptions {
  /** Maximum experts per module. Default `context.maxExperts`. */
  readonly maxExperts?: number;
  /** Maximum rank per expert. Default `context.maxRank`. */
  readonly maxRank?: number;
  /** Maximum trainable parameters of the whole allocation. Default: no limit. */
  readonly budget?: number;
  /**
   * Accept a module with one expert and `topK > 1` by setting its `topK` to 1 in the returned
   * allocation. Default false: such a module is an error.
   */
  readonly allowSingleExpertTopK?: boolean;
}

/** An allocation that failed {@link validateAllocation}. `issues` lists every problem found. */
export class AllocationValidationError extends GuiLoMoError {
  constructor(readonly issues: readonly string[]) {
    const listed = issues.slice(0, 20);
    const more =
      issues.length > listed.length ? `\n- … and ${issues.length - listed.length} more` : '';
    super(`Invalid allocation, ${issues.length} issue(s):\n- ${listed.join('\n- ')}${more}`);
  }
}

/**
 * Checks an allocation against its context and returns it, with `topK` lowered to 1 on
 * single-expert modules when `allowSingleExpertTopK` is set. Checks:
 * - every module of the context appears exactly once, and no other module appears.
 * - each module has 1 to `maxExperts` experts and each rank is an integer from 1 to `maxRank`.
 * - `topK` is an integer from 1 to the module's expert count.
 * - the parameter count is at most `budget`, when given.
 * - every GSV score in `context.gsv` is finite.
 *
 * Throws one {@link AllocationValidationError} listing all issues. Each names the module path
 * and the value.
 */
export function validateAllocation(
  allocation: Allocation,
  context: AllocationContext,
  options: ValidationOptions = {},
): Allocation {
  const maxExperts = checkInteger(options.maxExperts ?? context.maxExperts, 'maxExperts', 1);
  const maxRank = checkInteger(options.maxRank ?? context.maxRank, 'maxRank', 1);
  const budget =
    options.budget === undefined ? undefined : checkInteger(options.budget, 'budget', 0);
  const issues: string[] = [];
  const known = new Map(context.modules.map((module) => [module.path, module]));
  const seen = new Set<string>();
  let parameters = 0;

  const modules = allocation.modules.map((entry) => {
    const where = `module ${formatValue(entry.path)}`;
    const module = known.get(entry.path);
    if (module === undefined) {
      issues.push(`${where} is not in context.modules.`);
    } else if (seen.has(entry.path)) {
      issues.push(`${where} appears more than once.`);
    } else {
      parameters += moduleParameterCount(entry.ranks, module.dIn, module.dOut);
    }
    seen.add(entry.path);
    checkExperts(entry, where, maxExperts, maxRank, issues);
    return checkTopK(entry, where, options.allowSingleExpertTopK === true, issues);
  });

  for (const module of context.modules) {
    if (!seen.has(module.path)) {
      issues.push(`module ${formatValue(module.path)} is missing from the allocation.`);
    }
  }
  if (budget !== undefined && parameters > budget) {
    issues.push(
      `the allocation has ${parameters} trainable parameters, over the budget of ${budget}.`,
    );
  }
  checkGsvScores(context, issues);

  if (issues.length > 0) {
    throw new AllocationValidationError(issues);
  }
  return { modules };
}

function checkExperts(
  entry: ModuleAllocation,
  where: string,
  maxExperts: number,
  maxRank: number,
  issues: string[],
): void {
  const experts = entry.ranks.length;
  if (experts < 1 || experts > maxExperts) {
    issues.push(`${where} has ${experts} experts; allowed 1 to maxExperts = ${maxExperts}.`);
  }
  entry.ranks.forEach((rank, e) => {
    if (!Number.isInteger(rank) || rank < 1 || rank > maxRank) {
      issues.push(
        `${where} expert ${e} has rank ${formatValue(rank)}; allowed integers 1 to maxRank = ${maxRank}.`,
      );
    }
  });
}

function checkTopK(
  entry: ModuleAllocation,
  where: string,
  allowSingleExpertTopK: boolean,
  issues: string[],
): ModuleAllocation {
  const experts = entry.ranks.length;
  const topK = entry.topK;
  if (!Number.isInteger(topK) || topK < 1) {
    issues.push(`${where} has topK ${formatValue(topK)}; expected an integer of at least 1.`);
    return entry;
  }
  if (experts === 1 && topK > 1) {
    if (allowSingleExpertTopK) {
      return { path: entry.path, ranks: entry.ranks, topK: 1 };
    }
    issues.push(
      `${where} has one expert but topK ${topK}. Give it at least ${topK} experts, or pass allowSingleExpertTopK: true to route it with topK 1.`,
    );
    return entry;
  }
  if (experts >= 1 && topK > experts) {
    issues.push(`${where} has topK ${topK}, more than its ${experts} experts.`);
  }
  return entry;
}

function checkGsvScores(context: AllocationContext, issues: string[]): void {
  if (context.gsv === undefined) {
    return;
  }
  for (const [path, gsv] of context.gsv) {
    const where = `module ${formatValue(path)}`;
    const bad = firstNonFinite(gsv.expert);
    if (bad !== undefined) {
      issues.push(
        `${where} expert GSV has ${bad.value} at index ${bad.index}; scores must be finite.`,
      );
    }
    gsv.ranks.forEach((rank, e) => {
      const badRank = firstNonFinite(rank);
      if (badRank !== undefined) {
        issues.push(
          `${where} rank GSV ${e} has ${badRank.value} at index ${badRank.index}; scores must be finite.`,
        );
      }
    });
  }
}

function firstNonFinite(values: ArrayLike<number>): { index: number; value: number } | undefined {
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as number;
    if (!Number.isFinite(value)) {
      return { index: i, value };
    }
  }
  return undefined;
}
