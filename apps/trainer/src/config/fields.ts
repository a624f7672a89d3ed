/**
 * The trainer's configuration, declared once: each field's type, default, allowed values, unit
 * and help text. The CLI flags, `--help` output, validation and the resolved config written to
 * the run folder all come from this table.
 */
export type FieldSpec =
  | { readonly type: 'int'; readonly default: number; readonly min?: number; readonly max?: number; readonly unit?: string; readonly help: string }
  | { readonly type: 'number'; readonly default: number; readonly min?: number; readonly max?: number; readonly exclusiveMin?: boolean; readonly unit?: string; readonly help: string }
  | { readonly type: 'enum'; readonly default: string; readonly values: readonly string[]; readonly help: string }
  | { readonly type: 'string'; readonly default: string; readonly help: string; readonly unit?: string }
  | { readonly type: 'bool'; readonly default: boolean; readonly help: string }
  | { readonly type: 'json'; readonly default: Readonly<Record<string, unknown>>; readonly help: string }
  | { readonly type: 'list'; readonly default: readonly string[]; readonly help: string }
  /** A list of JSON values (strings or objects), given on the command line as a JSON array or comma-separated strings. */
  | { readonly type: 'jsonList'; readonly default: readonly unknown[]; readonly help: string };

export const TASK_NAMES = ['openbookqa', 'commonsenseqa', 'scienceqa', 'mrpc', 'cola', 'rte'] as const;

/** Every configuration field, keyed by its dotted path. */
export const CONFIG_FIELDS = {
  // Run
  'run.seed': { type: 'int', default: 42, min: 0, help: 'Seed of initialisation, data order and dropout' },
  'run.out': { type: 'string', default: 'runs/latest', help: 'Run folder: config, logs, checkpoints, results and report', unit: 'path' },
  'run.backend': { type: 'enum', default: 'auto', values: ['auto', 'tensorflow', 'wasm', 'cpu'], help: 'TF.js backend; auto tries tfjs-node-gpu, tfjs-node, wasm, cpu' },
  'run.openblas': { type: 'bool', default: true, help: 'Use the OpenBLAS matMul kernels when @guilomo/kernels-openblas is built' },
  'run.dropoutWorker': { type: 'bool', default: true, help: 'Draw the adapters\' dropout masks on a worker thread while the main thread computes. The masks are the same either way' },
  'run.checkpointEvery': { type: 'int', default: 10, min: 1, unit: 'steps', help: 'Checkpoint interval of search and training' },
  'run.stopAfter': { type: 'int', default: 0, min: 0, unit: 'steps', help: 'Stop after this many steps of a phase in this invocation, with a checkpoint to continue from with --resume (0 = off)' },
  'run.plugins': { type: 'list', default: [], help: 'JavaScript modules that export plugins (routers, allocation policies) to register' },

  // Model
  'model.checkpoint': { type: 'string', default: '', unit: 'path', help: 'llama2.c checkpoint; empty = the bundled BabyLlama (936k params)' },
  'model.tokenizer': { type: 'string', default: '', unit: 'path', help: 'llama2.c tokenizer.bin; empty = the bundled 105-symbol tokenizer' },

  // Data
  'data.task': { type: 'enum', default: 'openbookqa', values: TASK_NAMES, help: 'Benchmark task' },
  'data.dir': { type: 'string', default: '', unit: 'path', help: "Folder with the task's original files; empty = the bundled OpenBookQA subset" },
  'data.template': { type: 'enum', default: 'compact', values: ['compact', 'alpaca'], help: 'Prompt template; compact fits short-context models' },
  'data.trainLimit': { type: 'int', default: 384, min: 0, unit: 'examples', help: 'Training examples used (0 = all)' },
  'data.evalLimit': { type: 'int', default: 100, min: 0, unit: 'examples', help: 'Evaluation examples scored (0 = all)' },
  'data.maxLength': { type: 'int', default: 256, min: 8, unit: 'tokens', help: "Sequence cut-off, at most the model's context" },
  'data.onInvalidRow': { type: 'enum', default: 'error', values: ['error', 'skip'], help: 'What a malformed data row does: stop with an error, or skip and count it' },

  // Adapter
  'adapter.targets': { type: 'list', default: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'], help: 'Projections to adapt: short names, `all`, or path globs' },
  'adapter.maxExperts': { type: 'int', default: 8, min: 1, max: 64, unit: 'experts', help: 'Experts per module in the search (N_max)' },
  'adapter.maxRank': { type: 'int', default: 8, min: 1, max: 256, unit: 'rank', help: 'Rank per expert in the search (r_max)' },
  'adapter.topK': { type: 'int', default: 2, min: 1, unit: 'experts', help: 'Experts selected per token' },
  'adapter.alpha': { type: 'number', default: 16, min: 0, exclusiveMin: true, help: 'LoRA alpha; outputs are scaled by alpha / rank' },
  'adapter.dropout': { type: 'number', default: 0.05, min: 0, max: 0.99, help: 'Dropout probability on the experts input' },
  'adapter.router': { type: 'string', default: 'top-k', help: 'Router plugin name (router:<name>)' },
  'adapter.routerParams': { type: 'json', default: {}, help: 'Options passed to the router plugin' },
  'adapter.auxLossCoef': { type: 'number', default: 0.001, min: 0, help: 'Weight of the load-balance loss' },

  // Stage 1
  'search.mode': { type: 'enum', default: 'darts', values: ['first-order', 'darts', 'reference'], help: "Bilevel update: first-order, DARTS second-order, or the authors' code" },
  'search.steps': { type: 'int', default: 40, min: 0, unit: 'steps', help: 'Outer (GSV) updates in stage 1' },
  'search.batchSize': { type: 'int', default: 8, min: 1, unit: 'sequences', help: 'Sequences per stage-1 batch' },
  'search.innerLr': { type: 'number', default: 3e-4, min: 0, exclusiveMin: true, help: 'AdamW learning rate of LoRA, lora_E and routers' },
  'search.outerLr': { type: 'number', default: 3e-3, min: 0, exclusiveMin: true, help: 'AdamW learning rate of the GSVs' },
  'search.warmupSteps': { type: 'int', default: 4, min: 0, unit: 'steps', help: 'Linear warm-up of the inner learning rate' },
  'search.validation': { type: 'enum', default: 'held-out', values: ['held-out', 'alternate'], help: "Validation batches: a held-out part of the training data, or the authors' alternating batches" },
  'search.heldOutFraction': { type: 'number', default: 0.2, min: 0, max: 0.9, exclusiveMin: true, help: 'Share of training examples held out for validation' },
  'search.gsvInit': { type: 'enum', default: 'softmax-normal', values: ['softmax-normal', 'ones', 'ones-bump-last', 'gaussian-bump'], help: 'GSV initialisation' },
  'search.balanceScale': { type: 'enum', default: 'none', values: ['none', 'n'], help: "Stage-1 balance loss per layer: without xN (the authors' LLaMA-2 code) or with" },

  // Allocation
  'allocation.policy': { type: 'string', default: 'guilomo', help: 'Allocation policy plugin name (allocation:<name>)' },
  'allocation.params': { type: 'json', default: {}, help: 'Options passed to the allocation policy' },

  // Stage 2
  'train.steps': { type: 'int', default: 60, min: 0, unit: 'steps', help: 'Optimizer steps in stage 2' },
  'train.batchSize': { type: 'int', default: 8, min: 1, unit: 'sequences', help: 'Sequences per stage-2 batch' },
  'train.lr': { type: 'number', default: 3e-4, min: 0, exclusiveMin: true, help: 'AdamW learning rate' },
  'train.warmupSteps': { type: 'int', default: 6, min: 0, unit: 'steps', help: 'Linear warm-up, then linear decay to 0' },
  'train.scalingMode': { type: 'enum', default: 'per-expert', values: ['per-expert', 'last-expert'], help: "Expert scaling: alpha / r_e, or the authors' alpha / r of the last expert" },
  'train.clipNorm': { type: 'number', default: 1, min: 0, help: 'Global gradient-norm clip (0 = off)' },

  // Evaluation
  'eval.scoring': { type: 'enum', default: 'loglikelihood', values: ['loglikelihood', 'generation'], help: 'Option log-likelihood (lm-eval) or generation + answer regex (paper)' },
  'eval.maxNewTokens': { type: 'int', default: 24, min: 1, unit: 'tokens', help: 'Generation length for generation scoring' },

  // Comparison (`guilomo compare`)
  'compare.rows': {
    type: 'jsonList',
    default: ['lora', 'moe-lora', 'mola-5555', 'mola-2468', 'mola-8642', 'mola-8228', 'alphalora', 'guilomo'],
    help: 'Rows (methods) to compare: preset names (lora, moe-lora, mola-5555, mola-2468, mola-8642, mola-8228, alphalora, guilomo), allocation policy names, `policy:{json params}`, or objects {label, policy, params, match}',
  },
  'compare.tasks': { type: 'list', default: [], help: 'Tasks to compare on; empty = data.task' },
  'compare.seeds': { type: 'int', default: 1, min: 1, unit: 'seeds', help: 'Seeds per row and task: run.seed, run.seed + 1, ...' },
  'compare.matchBudget': { type: 'bool', default: false, help: 'Re-fit every row that allows it with the budgeted policy to the trainable-parameter count of compare.budgetOf' },
  'compare.budgetOf': { type: 'json', default: { policy: 'mola', params: { shape: '2468' } }, help: 'Allocation policy spec whose trainable-parameter count the matched rows spend' },

  // Benchmark (`guilomo bench`)
  'bench.modes': { type: 'list', default: ['train', 'search', 'search2', 'scaling', 'eval'], help: 'Benchmarks to run: train (stage-2 step), search (first-order stage-1 step), search2 (DARTS stage-1 step), scaling (train step at 2 and 16 experts), eval (OpenBookQA scoring)' },
  'bench.batch': { type: 'int', default: 16, min: 1, unit: 'sequences', help: 'Sequences per benchmark batch' },
  'bench.seq': { type: 'int', default: 128, min: 2, unit: 'tokens', help: "Tokens per benchmark sequence, at most the model's context" },
  'bench.experts': { type: 'int', default: 8, min: 2, max: 64, unit: 'experts', help: 'Experts per adapted module in the train, search and search2 benchmarks' },
  'bench.rank': { type: 'int', default: 8, min: 1, max: 256, unit: 'rank', help: 'LoRA rank of every expert in the benchmarks' },
  'bench.iters': { type: 'int', default: 10, min: 1, unit: 'steps', help: 'Timed steps per benchmark; the median is reported' },
  'bench.warmup': { type: 'int', default: 3, min: 0, unit: 'steps', help: 'Untimed steps before the timed ones' },
  'bench.threads': { type: 'int', default: 2, min: 1, unit: 'threads', help: 'OpenBLAS threads, and the thread count passed to the PyTorch reference' },
  'bench.torch': { type: 'enum', default: 'auto', values: ['auto', 'on', 'off'], help: 'PyTorch reference run per mode: auto runs it when bench.python imports torch and the script exists, on requires it, off skips it' },
  'bench.python': { type: 'string', default: '/usr/bin/python3', unit: 'path', help: 'Python interpreter of the PyTorch reference' },
  'bench.torchScript': { type: 'string', default: '', unit: 'path', help: 'PyTorch reference script (torch_reference.py); empty = shared/bench/torch_reference.py next to the repository folder' },
  'bench.evalExamples': { type: 'int', default: 32, min: 1, unit: 'examples', help: 'Bundled OpenBookQA evaluation examples scored by the eval benchmark' },
} as const satisfies Record<string, FieldSpec>;

export type ConfigPath = keyof typeof CONFIG_FIELDS;
