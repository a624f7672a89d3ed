import { FormatError, readSafetensorsFile } from '@guilomo/core';
import type { GsvScores } from './search.js';

/** Reads the GSVs written by the search stage, grouped by module path. */
export async function readGsvFile(path: string): Promise<GsvScores> {
  const { tensors } = await readSafetensorsFile(path);
  const modules = new Map<string, { expert: Float32Array; ranks: Float32Array[] }>();
  const rankEntries: [string, number, Float32Array][] = [];
  for (const [name, tensor] of Object.entries(tensors)) {
    if (!(tensor.data instanceof Float32Array)) {
      throw new FormatError(`GSV file ${path}: tensor ${name} is not float32.`);
    }
    const expertMatch = /^(.*)\.router_expert_vector$/.exec(name);
    const rankMatch = /^(.*)\.expertlora_E_vector_(\d+)$/.exec(name);
    if (expertMatch !== null) {
      const module = expertMatch[1] as string;
      const entry = modules.get(module) ?? { expert: tensor.data, ranks: [] };
      entry.expert = tensor.data;
      modules.set(module, entry);
    } else if (rankMatch !== null) {
      rankEntries.push([rankMatch[1] as string, Number(rankMatch[2]), tensor.data]);
    } else {
      throw new FormatError(`GSV file ${path}: unexpected tensor name ${name}; expected <module>.router_expert_vector or <module>.expertlora_E_vector_<e>.`);
    }
  }
  for (const [module, expert, data] of rankEntries) {
    const entry = modules.get(module);
    if (entry === undefined) {
      throw new FormatError(`GSV file ${path}: rank GSV ${module}.expertlora_E_vector_${expert} has no expert GSV ${module}.router_expert_vector.`);
    }
    entry.ranks[expert] = data;
  }
  return { modules };
}
