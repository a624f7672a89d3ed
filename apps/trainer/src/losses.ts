import type { ModuleInfo, Router } from '@guilomo/core';
import type { LlamaModel } from '@guilomo/models';
import { nextTokenLoss } from '@guilomo/models';
import * as tf from '@tensorflow/tfjs-core';
import type { Scalar, Tensor2D } from '@tensorflow/tfjs-core';
import type { AdapterSet } from './adapters.js';
import type { Batch } from './data.js';

/** Task and balance parts of the last loss computed, kept for logging. */
export interface LossParts {
  taskLoss: Scalar | undefined;
  balanceLoss: Scalar | undefined;
}

/**
 * Grouping of router logits for the balance loss. `layer`: the router logits of all modules of a layer are
 * concatenated into one group (GuiLoMo's search). `module`: one group per module (its stage 2).
 */
export type BalanceGrouping = 'layer' | 'module';

/**
 * Builds the training loss `CE + auxLossCoef · Σ_groups balanceLoss(group)` over a batch. The
 * last call's task and balance parts are kept (cloned out of the gradient tape) in `parts`, so
 * that the caller can log them without a second forward pass; read them with {@link takeParts}.
 * The balance loss includes padding rows, as the authors' code does.
 */
export function createLossFunction(options: {
  model: LlamaModel;
  set: AdapterSet;
  targets: readonly ModuleInfo[];
  grouping: BalanceGrouping;
  auxLossCoef: number;
  training: boolean;
  /** Returns the dropout seed of the next call, so that resumed runs draw the same masks. */
  nextSeed: () => number;
}): { loss: (batch: Batch) => Scalar; parts: LossParts } {
  const { model, set, targets, grouping, auxLossCoef } = options;
  const parts: LossParts = { taskLoss: undefined, balanceLoss: undefined };
  const groups = balanceGroups(targets, set.routers, grouping);
  const loss = (batch: Batch): Scalar => {
    const output = model.forward(batch.ids, { adapters: set.adapters, training: options.training, dropoutSeed: options.nextSeed() });
    const task = nextTokenLoss(output.logits, batch.ids, batch.mask);
    let balance: Scalar = tf.scalar(0);
    for (const group of groups) {
      const logits = group.paths.map((path) => output.routerLogits.get(path)).filter((t): t is Tensor2D => t !== undefined);
      if (logits.length > 0) {
        const joined = logits.length === 1 ? (logits[0] as Tensor2D) : (tf.concat(logits, 0) as Tensor2D);
        balance = tf.add(balance, group.router.balanceLoss(joined));
      }
    }
    parts.taskLoss?.dispose();
    parts.balanceLoss?.dispose();
    parts.taskLoss = tf.keep(tf.clone(task));
    parts.balanceLoss = tf.keep(tf.clone(balance));
    return tf.add(task, tf.mul(balance, auxLossCoef));
  };
  return { loss, parts };
}

/** Reads and releases the kept loss parts. */
export function takeParts(parts: LossParts): { taskLoss?: number; balanceLoss?: number } {
  const out: { taskLoss?: number; balanceLoss?: number } = {};
  if (parts.taskLoss !== undefined) {
    out.taskLoss = parts.taskLoss.dataSync()[0] as number;
    parts.taskLoss.dispose();
    parts.taskLoss = undefined;
  }
  if (parts.balanceLoss !== undefined) {
    out.balanceLoss = parts.balanceLoss.dataSync()[0] as number;
    parts.balanceLoss.dispose();
    parts.balanceLoss = undefined;
  }
  return out;
}

function balanceGroups(
  targets: readonly ModuleInfo[],
  routers: ReadonlyMap<string, Router>,
  grouping: BalanceGrouping,
): { paths: string[]; router: Router }[] {
  const groups: { paths: string[]; router: Router }[] = [];
  if (grouping === 'module') {
    for (const module of targets) {
      const router = routers.get(module.path);
      if (router !== undefined) {
        groups.push({ paths: [module.path], router });
      }
    }
    return groups;
  }
  const byLayer = new Map<number, string[]>();
  for (const module of targets) {
    if (routers.has(module.path)) {
      const list = byLayer.get(module.layer) ?? [];
      list.push(module.path);
      byLayer.set(module.layer, list);
    }
  }
  for (const paths of byLayer.values()) {
    const router = routers.get(paths[0] as string);
    if (router !== undefined) {
      groups.push({ paths, router });
    }
  }
  return groups;
}
