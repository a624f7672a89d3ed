import type { Tensor2D } from '@tensorflow/tfjs-core';
import type { PluginBase } from './plugin.js';

/** Short names of the seven LLaMA projections that adapters attach to. */
export const PROJECTION_NAMES = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const;
export type ProjectionName = (typeof PROJECTION_NAMES)[number];

/** Shape and place of one adaptable linear module of the backbone. */
export interface ModuleInfo {
  /** HF-style module path, such as `model.layers.3.mlp.up_proj`. */
  readonly path: string;
  readonly layer: number;
  readonly projection: ProjectionName;
  readonly dIn: number;
  readonly dOut: number;
}

/** Experts and ranks of one adapted module. */
export interface ModuleAllocation {
  /** HF-style module path, such as `model.layers.3.mlp.up_proj`. */
  readonly path: string;
  /** LoRA rank of each expert; its length is the module's expert count. */
  readonly ranks: readonly number[];
  /** Experts selected per token. 1 with a single expert. */
  readonly topK: number;
}

/** Experts and ranks for every adapted module of a model. */
export interface Allocation {
  readonly modules: readonly ModuleAllocation[];
}

/** Inputs an allocation policy may use. Policies ignore the fields they do not need. */
export interface AllocationContext {
  readonly modules: readonly ModuleInfo[];
  readonly numLayers: number;
  /** Maximum experts per module. */
  readonly maxExperts: number;
  /** Maximum rank per expert. */
  readonly maxRank: number;
  /** Default experts per token. */
  readonly topK: number;
  /**
   * Learned GSV scores from stage 1, keyed by module path: the expert GSV `[maxExperts]` and
   * one rank GSV per expert `[maxExperts][maxRank]`.
   */
  readonly gsv?: ReadonlyMap<
    string,
    { readonly expert: Float32Array; readonly ranks: readonly Float32Array[] }
  >;
  /**
   * Registered allocation policies, for policies that name other policies in their params
   * (composition, budgets). Usually the application's plugin registry.
   */
  readonly policies?: {
    has(kind: 'allocation', name: string): boolean;
    get(kind: 'allocation', name: string): AllocationPolicyPlugin;
  };
  /** Frozen weight `[dOut, dIn]` of a module, for training-free policies. */
  readonly frozenWeight?: (path: string) => Tensor2D;
}

/** An allocation policy instance. */
export interface AllocationPolicy {
  readonly id: string;
  allocate(context: AllocationContext): Allocation;
}

/** Allocation policy plugin, registered as `allocation:<name>`. */
export interface AllocationPolicyPlugin extends PluginBase<'allocation'> {
  create(params: Readonly<Record<string, unknown>>): AllocationPolicy;
}
