import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, FormatError } from '@guilomo/core';
import { describe, expect, it } from 'vitest';
import type { ClassificationFieldMap } from '../src/index.js';
import { loadJsonl } from '../src/index.js';
import { sharedTaskDir, withTempFiles } from './helpers.js';

const lines = (...rows: object[]): string =>
  `${rows.map((row) => JSON.stringify(row)).join('\n')}\n`;

const NLI_FIELDS: ClassificationFieldMap = {
  format: 'classification',
  inputs: [
    { name: 'Premise', field: 'premise' },
    { name: 'Hypothesis', field: 'hypothesis' },
  ],
  question: 'Does the premise entail the hypothesis?',
  label: 'label',
  labelWords: ['entailment', 'not entailment'],
  labelValues: ['entailment', 'not_entailment'],
  id: 'idx',
};

describe('generic jsonl loader', () => {
  it('multiple choice with string choices', async () => {
    const text = lines(
      { question: 'Which is hot?', choices: ['ice', 'fire'], answer: 1, hint: 'Think of winter.' },
      { question: 'Which is cold?', choices: ['ice', 'fire', 'sun'], answer: 0, hint: '' },
    );
    await withTempFiles({ 'data.jsonl': text }, async (dir) => {
      const split = await loadJsonl(join(dir, 'data.jsonl'), {
        format: 'multiple-choice',
        question: 'question',
        choices: 'choices',
        answer: 'answer',
        context: 'hint',
      });
      expect(split.task).toBe('jsonl');
      expect(split.split).toBe('eval');
      expect(split.examples.map((e) => e.instruction)).toEqual([
        'Context: Think of winter.\nQuestion: Which is hot?\nOptions: (A) ice (B) fire\n',
        'Context: N/A\nQuestion: Which is cold?\nOptions: (A) ice (B) fire (C) sun\n',
      ]);
      expect(split.examples.map((e) => e.answer)).toEqual(['B', 'A']);
      expect(split.examples[0]?.id).toBe('data.jsonl:1');
    });
  });

  it('multiple choice with parallel choice arrays', async () => {
    const text = lines({
      id: '7-1',
      question_stem: 'The sun is a',
      choices: { text: ['star', 'planet', 'moon'], label: ['A', 'B', 'C'] },
      answerKey: 'A',
    });
    await withTempFiles({ 'obqa.jsonl': text }, async (dir) => {
      const split = await loadJsonl(
        join(dir, 'obqa.jsonl'),
        {
          format: 'multiple-choice',
          question: 'question_stem',
          choices: 'choices',
          answer: 'answerKey',
          id: 'id',
        },
        { task: 'openbookqa', split: 'train' },
      );
      expect(split.task).toBe('openbookqa');
      expect(split.split).toBe('train');
      expect(split.examples[0]?.id).toBe('7-1');
      expect(split.examples[0]?.options).toEqual(['star', 'planet', 'moon']);
      expect(split.examples[0]?.label).toBe(0);
    });
  });

  it('classification with label values', async () => {
    const text = lines(
      { premise: 'A cat sleeps.', hypothesis: 'An animal sleeps.', label: 'entailment', idx: 3 },
      { premise: 'A cat sleeps.', hypothesis: 'A dog runs.', label: 'not_entailment', idx: 4 },
    );
    await withTempFiles({ 'rte.jsonl': text }, async (dir) => {
      const split = await loadJsonl(join(dir, 'rte.jsonl'), NLI_FIELDS);
      expect(split.examples.map((e) => e.output)).toEqual([
        'Answer: entailment',
        'Answer: not entailment',
      ]);
      expect(split.examples.map((e) => e.id)).toEqual(['3', '4']);
      expect(split.examples[0]?.instruction).toBe(
        'Premise: A cat sleeps.\nHypothesis: An animal sleeps.\nQuestion: Does the premise entail the hypothesis?\nOptions: entailment, not entailment\n',
      );
    });
  });

  it.each([
    [true, 1],
    [false, 0],
    [1, 1],
    ['no', 0],
  ] as const)('classification label %j', async (label, expected) => {
    await withTempFiles({ 'q.jsonl': lines({ q: 'is it?', label }) }, async (dir) => {
      const split = await loadJsonl(join(dir, 'q.jsonl'), {
        format: 'classification',
        inputs: [],
        question: 'Is it?',
        label: 'label',
        labelWords: ['no', 'yes'],
      });
      expect(split.examples[0]?.label).toBe(expected);
    });
  });

  it('bad label names the field', async () => {
    const text = lines({ premise: 'p', hypothesis: 'h', label: 'neutral', idx: 0 });
    await withTempFiles({ 'rte.jsonl': text }, async (dir) => {
      const file = join(dir, 'rte.jsonl');
      await expect(loadJsonl(file, NLI_FIELDS)).rejects.toThrow(FormatError);
      await expect(loadJsonl(file, NLI_FIELDS)).rejects.toThrow(
        /at line 1: field "label" must be one of/,
      );
      const split = await loadJsonl(file, NLI_FIELDS, { onInvalidRow: 'skip' });
      expect(split.skipped).toHaveLength(1);
    });
  });

  it.each([
    [{ labelWords: ['yes'] }, /at least 2/],
    [{ labelWords: ['not_entailment', 'entail-ment'] }, /"entail-ment"/],
    [{ labelValues: ['a'] }, /`fields.labelValues`/],
  ])('rejects field map %j', async (override, message) => {
    const fields = { ...NLI_FIELDS, ...override };
    expect(() => loadJsonl('unused.jsonl', fields)).toThrow(ConfigError);
    expect(() => loadJsonl('unused.jsonl', fields)).toThrow(message);
  });

  it('reads the MoLA ScienceQA sample', async () => {
    const file = join(sharedTaskDir('scienceqa'), 'mola_sampled', 'validation.jsonl');
    const split = await loadJsonl(file, {
      format: 'multiple-choice',
      question: 'question',
      choices: 'choices',
      answer: 'answer',
      context: 'hint',
    });
    const stored = (await readFile(file, 'utf8'))
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => (JSON.parse(line) as { instruction: string }).instruction);
    expect(split.examples.map((e) => e.instruction)).toEqual(stored);
  });
});
