import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ModuleAllocation } from '@guilomo/core';
import { Lora, LoraMoe, writeSafetensorsFile } from '@guilomo/core';
import * as tf from '@tensorflow/tfjs-core';
import type { AdapterSet } from './adapters.js';
import type { ResolvedConfig } from './config/types.js';
import { writeJson } from './run-dir.js';

const PREFIX = 'base_model.model';

/**
 * Writes the stage-2 adapters in PEFT's file layout: `adapter_model.safetensors` and
 * `adapter_config.json`. Plain-LoRA modules use PEFT's keys (`<module>.lora_A.weight` `[r, in]`,
 * `<module>.lora_B.weight` `[out, r]`); LoRA-MoE modules use MoE-PEFT's
 * (`<module>.experts.<e>.lora_A.weight`, `<module>.moe_gate.weight` `[E, in]`), with the
 * per-module expert counts and per-expert ranks in `expert_pattern` and `rank_pattern`.
 */
export async function exportAdapters(dir: string, set: AdapterSet, allocation: readonly ModuleAllocation[], config: ResolvedConfig, baseModel: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  const put = (name: string, tensor: tf.Tensor) => {
    tensors[name] = { dtype: 'F32', shape: [...tensor.shape], data: Float32Array.from(tensor.dataSync() as Float32Array) };
    tensor.dispose();
  };
  let allPlain = true;
  for (const [path, adapter] of set.adapters) {
    if (adapter instanceof Lora) {
      put(`${PREFIX}.${path}.lora_A.weight`, tf.transpose(adapter.loraA));
      put(`${PREFIX}.${path}.lora_B.weight`, tf.transpose(adapter.loraB));
    } else if (adapter instanceof LoraMoe) {
      allPlain = false;
      const exported = adapter.exportExperts();
      put(`${PREFIX}.${path}.moe_gate.weight`, exported.router);
      exported.experts.forEach((expert, e) => {
        put(`${PREFIX}.${path}.experts.${e}.lora_A.weight`, expert.A);
        put(`${PREFIX}.${path}.experts.${e}.lora_B.weight`, expert.B);
        expert.E?.dispose();
      });
    }
  }
  await writeSafetensorsFile(join(dir, 'adapter_model.safetensors'), tensors, { format: 'pt' });

  const projectionNames = [...new Set(allocation.map((entry) => entry.path.split('.').pop() as string))];
  const firstRank = allocation[0]?.ranks[0] ?? config.adapter.maxRank;
  const adapterConfig = {
    peft_type: allPlain ? 'LORA' : 'GUILOMO',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: baseModel,
    inference_mode: true,
    target_modules: projectionNames,
    r: firstRank,
    lora_alpha: config.adapter.alpha,
    lora_dropout: config.adapter.dropout,
    bias: 'none',
    ...(allPlain
      ? {}
      : {
          routing_strategy: `router:${config.adapter.router}`,
          top_k: config.adapter.topK,
          router_aux_loss_coef: config.adapter.auxLossCoef,
          scaling_mode: config.train.scalingMode,
          expert_pattern: Object.fromEntries(allocation.map((entry) => [entry.path, entry.ranks.length])),
          top_k_pattern: Object.fromEntries(allocation.map((entry) => [entry.path, entry.topK])),
          rank_pattern: Object.fromEntries(allocation.flatMap((entry) => entry.ranks.map((rank, e) => [`${entry.path}.experts.${e}`, rank]))),
        }),
  };
  await writeJson(join(dir, 'adapter_config.json'), adapterConfig);
}
