import type { NamedTensorMap, Scalar, Tensor, Variable } from '@tensorflow/tfjs-core';
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from './errors.js';

// Structural views of the TF.js 4.22 engine fields that the gradient tape uses. The engine keeps
// them public at run time, but the package index does not export the tape's TapeNode type.
interface TapeNodeView {
  readonly id: number;
  readonly kernelName: string;
  readonly outputs: Tensor[];
  readonly inputs: Record<string, Tensor>;
  readonly gradient?: (dys: Tensor[]) => Record<string, () => Tensor>;
  readonly saved?: Tensor[];
}

interface EngineView {
  readonly state: { activeTape: TapeNodeView[] | null; gradientDepth: number };
  tidy<T extends tf.TensorContainer>(name: string, fn: () => T): T;
}

/** A tape node reduced to the inputs that depend on the variables, as TF.js prunes them. */
interface PathNode {
  readonly node: TapeNodeView;
  readonly inputs: [string, Tensor][];
}

function engineView(): EngineView | undefined {
  const engine = tf.engine() as unknown as Partial<EngineView>;
  const state = engine.state as Partial<EngineView['state']> | undefined;
  if (
    state === undefined ||
    typeof state.gradientDepth !== 'number' ||
    typeof engine.tidy !== 'function'
  ) {
    return undefined;
  }
  return engine as EngineView;
}

/** Returns the tape nodes on a path from `xs` to `y`, in tape order, with pruned inputs. */
function nodesBetween(tape: readonly TapeNodeView[], xs: readonly Tensor[], y: Tensor): PathNode[] {
  const fromX = new Set<number>(xs.map((x) => x.id));
  const nodesFromX = new Set<number>();
  for (const node of tape) {
    if (Object.values(node.inputs).some((input) => fromX.has(input.id))) {
      nodesFromX.add(node.id);
      for (const output of node.outputs) {
        fromX.add(output.id);
      }
    }
  }
  const toY = new Set<number>([y.id]);
  const nodesToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i] as TapeNodeView;
    if (node.outputs.some((output) => toY.has(output.id))) {
      nodesToY.add(node.id);
      for (const input of Object.values(node.inputs)) {
        toY.add(input.id);
      }
    }
  }
  return tape
    .filter((node) => nodesFromX.has(node.id) && nodesToY.has(node.id))
    .map((node) => ({
      node,
      inputs: Object.entries(node.inputs).filter(([, input]) => fromX.has(input.id)),
    }));
}

/**
 * Accumulated gradients by tensor id. A gradient tensor may be stored under several ids (a
 * gradient function can return its `dy` unchanged), so each tensor counts its entries and is
 * disposed when the last one goes.
 */
class GradientMap {
  private readonly byId = new Map<number, Tensor>();
  private readonly entries = new Map<Tensor, number>();

  get(id: number): Tensor | undefined {
    return this.byId.get(id);
  }

  set(id: number, gradient: Tensor): void {
    this.release(id);
    this.byId.set(id, gradient);
    this.entries.set(gradient, (this.entries.get(gradient) ?? 0) + 1);
  }

  /** Removes the entry of `id` and disposes its tensor when no other entry refers to it. */
  release(id: number): void {
    const gradient = this.byId.get(id);
    if (gradient === undefined) {
      return;
    }
    this.byId.delete(id);
    const count = (this.entries.get(gradient) ?? 1) - 1;
    if (count > 0) {
      this.entries.set(gradient, count);
    } else {
      this.entries.delete(gradient);
      gradient.dispose();
    }
  }

  holds(gradient: Tensor): boolean {
    return this.entries.has(gradient);
  }
}

/**
 * Computes `f()` and its gradients with respect to `varList`, with the result of
 * `tf.variableGrads(f, varList)` bit for bit, but with a lower memory peak.
 *
 * tf.variableGrads keeps every intermediate gradient and every tensor that the tape saved until
 * the whole backward pass is done. This walks the same tape nodes in the same order and adds
 * the gradient contributions in the same order, then frees each node's saved tensors and its
 * outputs' gradients as soon as the node is processed. Inside another gradient computation, or
 * when the engine does not have the expected fields, it calls tf.variableGrads.
 *
 * @returns the loss and a map from variable name to gradient, without the variables that the
 *   loss does not depend on. The caller owns all returned tensors.
 * @throws ShapeError when `f` does not return a scalar or a gradient has the wrong shape.
 */
export function leanVariableGrads(
  f: () => Scalar,
  varList: readonly Variable[],
): { value: Scalar; grads: NamedTensorMap } {
  const engine = engineView();
  const variables = varList.filter((variable) => variable.trainable);
  if (engine === undefined || engine.state.gradientDepth !== 0 || variables.length === 0) {
    return tf.variableGrads(f, [...varList]);
  }
  const { state } = engine;
  state.activeTape = [];
  state.gradientDepth += 1;
  let value: Scalar;
  try {
    value = engine.tidy('forward', f);
  } finally {
    state.gradientDepth -= 1;
  }
  const tape = state.activeTape ?? [];
  try {
    if (!(value instanceof tf.Tensor) || value.rank !== 0) {
      throw new ShapeError('leanVariableGrads: the function must return a scalar tensor.');
    }
    const grads = engine.tidy('backward', () => backpropagate(engine, tape, variables, value));
    return { value, grads };
  } catch (error) {
    if (value instanceof tf.Tensor) {
      value.dispose();
    }
    throw error;
  } finally {
    for (const node of tape) {
      for (const saved of node.saved ?? []) {
        saved.dispose();
      }
    }
    state.activeTape = null;
  }
}

function backpropagate(
  engine: EngineView,
  tape: readonly TapeNodeView[],
  variables: readonly Variable[],
  value: Scalar,
): NamedTensorMap {
  const path = nodesBetween(tape, variables, value);
  const gradients = new GradientMap();
  gradients.set(value.id, tf.onesLike(value));
  for (let i = path.length - 1; i >= 0; i--) {
    const { node, inputs } = path[i] as PathNode;
    if (node.gradient === undefined) {
      throw new Error(`Cannot compute a gradient: no gradient function for ${node.kernelName}.`);
    }
    const dys = node.outputs.map((output) => gradients.get(output.id) ?? null) as Tensor[];
    const inputGradients = node.gradient(dys);
    for (const [name, input] of inputs) {
      const compute = inputGradients[name];
      if (compute === undefined) {
        throw new Error(`Cannot backpropagate through input ${name} of ${node.kernelName}.`);
      }
      const dx = engine.tidy(`${node.kernelName} gradient`, compute);
      if (
        dx.dtype !== 'float32' ||
        dx.shape.length !== input.shape.length ||
        dx.shape.some((dim, axis) => dim !== input.shape[axis])
      ) {
        throw new ShapeError(
          `The gradient of input ${name} of ${node.kernelName} is ${dx.dtype} [${dx.shape.join(', ')}], ` +
            `expected float32 [${input.shape.join(', ')}].`,
        );
      }
      const previous = gradients.get(input.id);
      if (previous === undefined) {
        gradients.set(input.id, dx);
      } else {
        gradients.set(input.id, tf.add(previous, dx));
        if (!gradients.holds(dx)) {
          dx.dispose();
        }
      }
    }
    // Every consumer of this node's outputs comes later on the tape, so their gradients are
    // complete and no longer needed. The tensors saved for this node are not needed either.
    for (const output of node.outputs) {
      gradients.release(output.id);
    }
    for (const saved of node.saved ?? []) {
      saved.dispose();
    }
  }
  const named: NamedTensorMap = {};
  for (const variable of variables) {
    const gradient = gradients.get(variable.id);
    if (gradient !== undefined) {
      named[variable.name] = gradient;
    }
  }
  return named;
}
