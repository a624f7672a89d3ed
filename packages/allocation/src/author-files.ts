import type { Allocation, AllocationContext, ModuleAllocation } from '@guilomo/core';
import { FormatError, formatValue } from '@guilomo/core';
import { isRecord, parseJson } from './allocation-json.js';
import { clampTopK } from './context.js';
import { rankFromGsv } from './gsv.js';

/** Key infix of a rank entry: `<module path>.expertlora_E_vector_<expert index>`. */
export const RANK_KEY_INFIX = '.expertlora_E_vector_';

/**
 * The two files that GuiLoMo's reference code (the authors' `save_rankandexp_num.py`) writes
 * after the search stage, as JSON text. `expert.json` maps a module path to its expert count,
 * and `rank.json` maps `<path>.expertlora_E_vector_<e>` to the rank of expert e.
 */
export interface AuthorFiles {
  readonly 'expert.json': string;
  readonly 'rank.json': string;
}

/** Input of {@link fromAuthorFiles}: each file as JSON text or as the parsed object. */
export interface AuthorFilesInput {
  readonly 'expert.json': string | Readonly<Record<string, unknown>>;
  readonly 'rank.json': string | Readonly<Record<string, unknown>>;
}

/** Options of {@link toAuthorFiles}. */
export interface ToAuthorFilesOptions {
  /**
   * GSVs of the search stage. For a module that has them, rank.json gets an entry for every
   * expert that has a rank GSV, as the reference does: allocated experts keep their allocated
   * rank and the others get `argmax(h_e) + 1`. Other modules list only the allocated experts.
   */
  readonly gsv?: AllocationContext['gsv'];
}

/** Options of {@link fromAuthorFiles}. */
export interface FromAuthorFilesOptions {
  /** Experts per token, lowered to the expert count where needed. Default 2, as in stage 2. */
  readonly topK?: number;
}

/**
 * Writes an allocation in the reference's expert.json and rank.json format. Keys keep the
 * allocation's module order, and the text matches Python's `json.dump(obj, indent=4)`.
 */
export function toAuthorFiles(
  allocation: Allocation,
  options: ToAuthorFilesOptions = {},
): AuthorFiles {
  const experts: Record<string, number> = {};
  const ranks: Record<string, number> = {};
  for (const entry of allocation.modules) {
    experts[entry.path] = entry.ranks.length;
    const gsv = options.gsv?.get(entry.path);
    const listed = Math.max(entry.ranks.length, gsv?.ranks.length ?? 0);
    for (let e = 0; e < listed; e++) {
      const allocated = entry.ranks[e];
      const rankGsv = gsv?.ranks[e];
      let rank: number;
      if (allocated !== undefined) {
        rank = allocated;
      } else if (rankGsv !== undefined) {
        rank = rankFromGsv(rankGsv, `Rank GSV ${e} of module ${formatValue(entry.path)}`);
      } else {
        continue;
      }
      ranks[`${entry.path}${RANK_KEY_INFIX}${e}`] = rank;
    }
  }
  return {
    'expert.json': JSON.stringify(experts, null, 4),
    'rank.json': JSON.stringify(ranks, null, 4),
  };
}

/**
 * Reads the reference's expert.json and rank.json into an allocation, in expert.json's key
 * order. Expert e of a module with n experts takes the rank entry
 * `<path>.expertlora_E_vector_<e>` for e < n. Entries for e ≥ n are ignored, as the reference's
 * stage-2 script (`mola3_training.py`) ignores them. Throws a {@link FormatError} for a missing
 * rank, a value that is not a positive integer, or a rank key whose module is not in
 * expert.json.
 */
export function fromAuthorFiles(
  files: AuthorFilesInput,
  options: FromAuthorFilesOptions = {},
): Allocation {
  const experts = readCounts(files['expert.json'], 'expert.json');
  const ranks = readCounts(files['rank.json'], 'rank.json');
  for (const key of ranks.keys()) {
    const infix = key.lastIndexOf(RANK_KEY_INFIX);
    const index = key.slice(infix + RANK_KEY_INFIX.length);
    if (infix <= 0 || !/^\d+$/.test(index)) {
      throw new FormatError(
        `rank.json: key ${formatValue(key)} does not have the form <module path>${RANK_KEY_INFIX}<expert index>.`,
      );
    }
    if (!experts.has(key.slice(0, infix))) {
      throw new FormatError(
        `rank.json: key ${formatValue(key)} names module ${formatValue(key.slice(0, infix))}, which expert.json does not list.`,
      );
    }
  }
  const topK = options.topK ?? 2;
  const modules = [...experts].map(([path, count]): ModuleAllocation => {
    const moduleRanks: number[] = [];
    for (let e = 0; e < count; e++) {
      const key = `${path}${RANK_KEY_INFIX}${e}`;
      const rank = ranks.get(key);
      if (rank === undefined) {
        throw new FormatError(
          `rank.json: missing ${formatValue(key)}; expert.json gives module ${formatValue(path)} ${count} experts.`,
        );
      }
      moduleRanks.push(rank);
    }
    return { path, ranks: moduleRanks, topK: clampTopK(topK, count) };
  });
  return { modules };
}

function readCounts(
  input: string | Readonly<Record<string, unknown>>,
  source: string,
): Map<string, number> {
  const json = typeof input === 'string' ? parseJson(input, source) : input;
  if (!isRecord(json)) {
    throw new FormatError(`${source}: expected a JSON object, received ${formatValue(json)}.`);
  }
  const counts = new Map<string, number>();
  for (const [key, value] of Object.entries(json)) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw new FormatError(
        `${source}: ${formatValue(key)} has ${formatValue(value)}; expected an integer of at least 1.`,
      );
    }
    counts.set(key, value);
  }
  return counts;
}
