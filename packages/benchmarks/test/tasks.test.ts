import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '@guilomo/core';
import { describe, expect, it } from 'vitest';
import { defaultDataDir, getTask, isTaskName, loadTask, PAPER_TASKS, TASKS } from '../src/index.js';
import { SHARED_DATA } from './helpers.js';

describe('task table', () => {
  it('paper tasks in order with their eval sizes', () => {
    expect(PAPER_TASKS).toEqual([
      'mrpc',
      'cola',
      'rte',
      'scienceqa',
      'commonsenseqa',
      'openbookqa',
    ]);
    expect(PAPER_TASKS.map((name) => TASKS[name].evalSize)).toEqual([
      1725, 1043, 277, 2224, 1221, 500,
    ]);
    expect(PAPER_TASKS.every((name) => TASKS[name].inPaper)).toBe(true);
  });

  it.each(Object.values(TASKS))('$name default files exist', (task) => {
    for (const file of [...task.files.train, ...task.files.eval]) {
      expect(existsSync(join(SHARED_DATA, task.directory, file))).toBe(true);
    }
  });

  it('lm-eval names and metrics', () => {
    expect(TASKS.commonsenseqa.lmEvalName).toBe('commonsense_qa');
    expect(TASKS.scienceqa.lmEvalName).toBeNull();
    expect(TASKS.mrpc.metrics).toContain('f1');
    expect(TASKS.cola.metrics).toContain('mcc');
  });

  it('name lookup', () => {
    expect(getTask('rte')).toBe(TASKS.rte);
    expect(isTaskName('toString')).toBe(false);
    expect(() => getTask('mnli')).toThrow(ConfigError);
    expect(() => getTask('mnli')).toThrow(/"mnli".*mrpc, cola/);
  });

  it('default data dir is absolute', () => {
    const dir = defaultDataDir();
    expect(dir.endsWith(join('benchmarks', 'assets'))).toBe(true);
    expect(existsSync(join(dir, 'openbookqa', 'SOURCE.md'))).toBe(true);
  });

  it('missing task folder in the default root', async () => {
    await expect(loadTask('mrpc', 'eval')).rejects.toThrow(/not found.*msr_paraphrase_test\.txt/);
  });
});
