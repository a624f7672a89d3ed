import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LogRecord } from '@guilomo/core';
import { createLogger } from '@guilomo/core';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveCommandConfig } from '../src/config/saved-config.js';
import { resolveConfig } from '../src/index.js';
import { makeTempDir, removeTempDir } from './helpers.js';

describe('saved run config', () => {
  const root = makeTempDir('saved-config');
  afterAll(() => removeTempDir(root));

  function savedRun(name: string): string {
    const out = join(root, name);
    mkdirSync(out, { recursive: true });
    const config = resolveConfig({}, { 'run.out': out, 'data.task': 'cola', 'adapter.alpha': 32, 'run.stopAfter': 1 });
    writeFileSync(join(out, 'config.json'), JSON.stringify(config));
    return out;
  }

  function collect(): { records: LogRecord[]; logger: ReturnType<typeof createLogger> } {
    const records: LogRecord[] = [];
    return { records, logger: createLogger({ level: 'debug', sink: (record) => records.push(record) }) };
  }

  it('is the base of a later command', () => {
    const out = savedRun('base');
    const { logger } = collect();
    const config = resolveCommandConfig({}, { 'run.out': out }, logger);
    expect(config.data.task).toBe('cola');
    expect(config.adapter.alpha).toBe(32);
  });

  it('does not carry a stop request over', () => {
    const out = savedRun('stop');
    const config = resolveCommandConfig({}, { 'run.out': out }, collect().logger);
    expect(config.run.stopAfter).toBe(0);
  });

  it('warns when a flag changes a trained field', () => {
    const out = savedRun('changed');
    const { records, logger } = collect();
    const config = resolveCommandConfig({}, { 'run.out': out, 'adapter.alpha': '999' }, logger);
    expect(config.adapter.alpha).toBe(999);
    const warning = records.find((record) => record.level === 'warn');
    expect(warning?.message).toMatch(/adapter\.alpha 32 -> 999/);
  });

  it('does not warn for evaluation settings', () => {
    const out = savedRun('eval');
    const { records, logger } = collect();
    resolveCommandConfig({}, { 'run.out': out, 'data.evalLimit': '7', 'eval.scoring': 'generation' }, logger);
    expect(records.filter((record) => record.level === 'warn')).toHaveLength(0);
  });

  it('is ignored for a new folder', () => {
    const { records, logger } = collect();
    const config = resolveCommandConfig({}, { 'run.out': join(root, 'new') }, logger);
    expect(config.data.task).toBe('openbookqa');
    expect(records).toHaveLength(0);
  });
});
