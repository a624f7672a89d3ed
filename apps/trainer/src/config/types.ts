// Generated from fields.ts: keep the two in step (the resolve-config test checks the keys).
import type { TASK_NAMES } from './fields.js';

export type TaskName = (typeof TASK_NAMES)[number];

/** The validated configuration of a run, as written to `config.json` in the run folder. */
export interface ResolvedConfig {
  readonly run: {
    readonly seed: number;
    readonly out: string;
    readonly backend: 'auto' | 'tensorflow' | 'wasm' | 'cpu';
    readonly openblas: boolean;
    readonly dropoutWorker: boolean;
    readonly checkpointEvery: number;
    /** Steps of a phase after which this invocation stops; 0 = off. */
    readonly stopAfter: number;
    readonly plugins: readonly string[];
  };
  readonly model: {
    readonly checkpoint: string;
    readonly tokenizer: string;
  };
  readonly data: {
    readonly task: TaskName;
    readonly dir: string;
    readonly template: 'compact' | 'alpaca';
    readonly trainLimit: number;
    readonly evalLimit: number;
    readonly maxLength: number;
    readonly onInvalidRow: 'error' | 'skip';
  };
  readonly adapter: {
    readonly targets: readonly string[];
    readonly maxExperts: number;
    readonly maxRank: number;
    readonly topK: number;
    readonly alpha: number;
    readonly dropout: number;
    readonly router: string;
    readonly routerParams: Readonly<Record<string, unknown>>;
    readonly auxLossCoef: number;
  };
  readonly search: {
    readonly mode: 'first-order' | 'darts' | 'reference';
    readonly steps: number;
    readonly batchSize: number;
    readonly innerLr: number;
    readonly outerLr: number;
    readonly warmupSteps: number;
    readonly validation: 'held-out' | 'alternate';
    readonly heldOutFraction: number;
    readonly gsvInit: 'softmax-normal' | 'ones' | 'ones-bump-last' | 'gaussian-bump';
    readonly balanceScale: 'none' | 'n';
  };
  readonly allocation: {
    readonly policy: string;
    readonly params: Readonly<Record<string, unknown>>;
  };
  readonly train: {
    readonly steps: number;
    readonly batchSize: number;
    readonly lr: number;
    readonly warmupSteps: number;
    readonly scalingMode: 'per-expert' | 'last-expert';
    readonly clipNorm: number;
  };
  readonly eval: {
    readonly scoring: 'loglikelihood' | 'generation';
    readonly maxNewTokens: number;
  };
  readonly compare: {
    /** Row specs as given; `guilomo compare` validates them before any work starts. */
    readonly rows: readonly unknown[];
    readonly tasks: readonly string[];
    readonly seeds: number;
    readonly matchBudget: boolean;
    readonly budgetOf: Readonly<Record<string, unknown>>;
  };
  readonly bench: {
    readonly modes: readonly string[];
    readonly batch: number;
    readonly seq: number;
    readonly experts: number;
    readonly rank: number;
    readonly iters: number;
    readonly warmup: number;
    readonly threads: number;
    readonly torch: 'auto' | 'on' | 'off';
    readonly python: string;
    readonly torchScript: string;
    readonly evalExamples: number;
  };
}
