import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from '@guilomo/core';
import { FormatError } from '@guilomo/core';
import type { ConfigPath } from './fields.js';
import { resolveConfig } from './resolve-config.js';
import type { ResolvedConfig } from './types.js';

/** Fields a later command may change without making the run folder inconsistent. */
const FREELY_CHANGED = /^(run\.(stopAfter|backend|openblas|checkpointEvery)|data\.evalLimit|eval\.|compare\.|bench\.)/;

/**
 * Resolves a command's config. When the run folder already contains a `config.json` (written by an
 * earlier command on the same folder), that config is the base and the config file and flags
 * override it, so `--resume`, `eval` and step-by-step commands continue the same run instead of
 * falling back to defaults. Overrides of fields that shape the trained state are logged as a
 * warning, naming old and new values.
 */
export function resolveCommandConfig(
  fileConfig: Record<string, unknown>,
  flags: Partial<Record<ConfigPath, unknown>>,
  logger: Logger,
): ResolvedConfig {
  const fresh = resolveConfig(fileConfig, flags);
  const savedPath = join(resolve(fresh.run.out), 'config.json');
  if (!existsSync(savedPath)) {
    return fresh;
  }
  let saved: Record<string, Record<string, unknown>>;
  try {
    saved = JSON.parse(readFileSync(savedPath, 'utf8')) as Record<string, Record<string, unknown>>;
  } catch (error) {
    throw new FormatError(`${savedPath} is not valid JSON (${(error as Error).message}). Delete it or choose another --run-out.`);
  }
  const base: Record<string, Record<string, unknown>> = {};
  for (const [section, fields] of Object.entries(saved)) {
    base[section] = { ...fields, ...((fileConfig[section] as Record<string, unknown> | undefined) ?? {}) };
  }
  for (const [section, fields] of Object.entries(fileConfig)) {
    base[section] ??= fields as Record<string, unknown>;
  }
  // A stop request applies to the invocation that made it, not to the commands that continue.
  if (base.run !== undefined && (fileConfig.run as Record<string, unknown> | undefined)?.stopAfter === undefined) {
    delete base.run.stopAfter;
  }
  const merged = resolveConfig(base, flags);
  const changes: string[] = [];
  for (const [section, fields] of Object.entries(saved)) {
    for (const [key, before] of Object.entries(fields)) {
      const path = `${section}.${key}`;
      const after = (merged as unknown as Record<string, Record<string, unknown>>)[section]?.[key];
      if (!FREELY_CHANGED.test(path) && JSON.stringify(before) !== JSON.stringify(after)) {
        changes.push(`${path} ${JSON.stringify(before)} -> ${JSON.stringify(after)}`);
      }
    }
  }
  logger.info(`Continuing the run in ${merged.run.out}: its saved config.json is the base, and flags override it.`);
  if (changes.length > 0) {
    logger.warn(
      `The new values change the saved run config: ${changes.join(', ')}. Checkpoints, allocation and adapters in the folder were made with the old values; use another --run-out for a new run.`,
    );
  }
  return merged;
}
