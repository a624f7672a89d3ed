import { ConfigError, formatValue } from '@guilomo/core';
import type { Scalar, Variable } from '@tensorflow/tfjs-core';

/**
 * A bilevel problem: inner weights `w` trained on the training loss, and outer (architecture)
 * variables `α` trained on the validation loss of the weights that the inner step produces.
 * The same `loss` serves both levels, and the batch decides which level's data it evaluates.
 */
export interface BilevelProblem<Batch> {
  /** Inner weights `w`, such as LoRA A/B, `lora_E` and router weights. */
  readonly innerVariables: readonly Variable[];
  /** Outer variables `α`, such as the expert and rank GSVs. */
  readonly outerVariables: readonly Variable[];
  /**
   * Full training loss of one batch (task loss plus auxiliary losses). It is called inside
   * gradient tapes, so it must build the loss from the current variable values every time.
   */
  loss(batch: Batch): Scalar;
}

/**
 * Checks that both variable lists are non-empty, trainable and disjoint, because
 * `tf.variableGrads` silently skips non-trainable variables.
 */
export function validateProblem<Batch>(problem: BilevelProblem<Batch>): void {
  const lists = [
    ['problem.innerVariables', problem.innerVariables],
    ['problem.outerVariables', problem.outerVariables],
  ] as const;
  const owner = new Map<string, string>();
  for (const [field, variables] of lists) {
    if (variables.length === 0) {
      throw new ConfigError(field, 'is empty. Pass at least one tf.Variable.');
    }
    for (const variable of variables) {
      if (!variable.trainable) {
        throw new ConfigError(
          field,
          `variable ${formatValue(variable.name)} is not trainable; create it with trainable = true.`,
        );
      }
      const previous = owner.get(variable.name);
      if (previous !== undefined) {
        throw new ConfigError(
          field,
          `variable ${formatValue(variable.name)} is already listed in \`${previous}\`; ` +
            'each variable belongs to exactly one level, once.',
        );
      }
      owner.set(variable.name, field);
    }
  }
}
