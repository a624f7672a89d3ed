import type { LogRecord, ProgressEvent } from '@guilomo/core';
import { ConfigError, createLogger } from '@guilomo/core';
import { describe, expect, it } from 'vitest';
import type { Example } from '../src/index.js';
import {
  buildClassificationExample,
  buildMultipleChoiceExample,
  defaultMaxNewTokens,
  evaluateTask,
  extractAnswer,
  FAILED,
  renderPrompt,
  scoreByGeneration,
  scoreByLogLikelihood,
} from '../src/index.js';
import { FakeModel } from './helpers.js';

const MC = buildMultipleChoiceExample({
  id: 'mc',
  context: '',
  question: 'Which is hot?',
  options: ['ice', 'fire', 'snow'],
  label: 1,
});

function pair(id: string, label: number): Example {
  return buildClassificationExample({
    id,
    inputs: [
      ['Sentence 1', `first ${id}`],
      ['Sentence 2', `second ${id}`],
    ],
    question: 'Same meaning?',
    labelWords: ['not equivalent', 'equivalent'],
    label,
  });
}

describe('answer extraction', () => {
  it.each([
    ['Answer: The answer is B.', 'B'],
    [' The answer is C', 'C'],
    ['The answer is B. The answer is B.', FAILED],
    ['The answer is b.', FAILED],
    ['I do not know.', FAILED],
    ['The answer is Z.', 'Z'],
  ])('multiple choice %j', (response, expected) => {
    expect(extractAnswer(response, MC)).toBe(expected);
  });

  it.each([
    ['Answer: equivalent', 'equivalent'],
    ['Answer: not equivalent\n', 'not equivalent'],
    ['Answer: maybe', FAILED],
    ['equivalent', FAILED],
    // The pattern [\w\s]+ runs over the line break into the next words.
    ['Answer: equivalent\nAnswer: equivalent', FAILED],
    ['Answer: equivalent.', 'equivalent'],
  ])('classification %j', (response, expected) => {
    expect(extractAnswer(response, pair('p', 1))).toBe(expected);
  });
});

describe('generation scoring', () => {
  it('reads the generated answer', async () => {
    const model = new FakeModel({ respond: () => 'Answer: The answer is B.' });
    const score = await scoreByGeneration(model, MC, 'compact');
    expect(score.prediction).toBe('B');
    expect(score.predictedLabel).toBe(1);
    expect(score.truncated).toBe(false);
    expect(model.generateCalls[0]?.context).toBe(renderPrompt(MC, 'compact').text);
    expect(model.generateCalls[0]?.maxNewTokens).toBe('Answer: The answer is A.'.length + 8);
  });

  it('takes text after an echoed response marker', async () => {
    const model = new FakeModel({
      respond: () => 'The answer is A.\n### Response:\nAnswer: The answer is C.',
    });
    const score = await scoreByGeneration(model, MC, 'alpaca', { maxNewTokens: 100 });
    expect(score.response).toBe('\nAnswer: The answer is C.');
    expect(score.prediction).toBe('C');
  });

  it('letter beyond the options is wrong, not failed', async () => {
    const model = new FakeModel({ respond: () => 'Answer: The answer is E.' });
    const score = await scoreByGeneration(model, MC, 'compact');
    expect(score.prediction).toBe('E');
    expect(score.predictedLabel).toBeNull();
  });

  it('stops at maxNewTokens', async () => {
    const model = new FakeModel({ respond: () => 'Answer: The answer is B.' });
    const score = await scoreByGeneration(model, MC, 'compact', { maxNewTokens: 10 });
    expect(score.response).toBe('Answer: Th');
    expect(score.prediction).toBe(FAILED);
  });

  it('reserves generated tokens in the context', async () => {
    const prompt = renderPrompt(MC, 'compact').text;
    const model = new FakeModel({ contextLength: prompt.length, respond: () => 'The answer is B' });
    const score = await scoreByGeneration(model, MC, 'compact', { maxNewTokens: 15 });
    expect(score.truncated).toBe(true);
    expect(model.generateCalls[0]?.context).toHaveLength(prompt.length - 15);
    expect(score.prediction).toBe('B');
  });

  it('rejects maxNewTokens beyond the context', async () => {
    const model = new FakeModel({ contextLength: 32 });
    await expect(scoreByGeneration(model, MC, 'compact', { maxNewTokens: 32 })).rejects.toThrow(
      ConfigError,
    );
    await expect(scoreByGeneration(model, MC, 'compact', { maxNewTokens: 0 })).rejects.toThrow(
      /maxNewTokens/,
    );
  });

  it('default length follows the longest output', () => {
    const model = new FakeModel();
    expect(defaultMaxNewTokens(model, pair('p', 0))).toBe('Answer: not equivalent'.length + 8);
  });
});

describe('log-likelihood scoring', () => {
  it('sends one request per candidate', async () => {
    const model = new FakeModel({
      score: (_, continuation) => (continuation.includes('B') ? -1 : -5),
    });
    const score = await scoreByLogLikelihood(model, MC, 'compact');
    const prompt = renderPrompt(MC, 'compact').text;
    const requests = model.scoreCalls[0] ?? [];
    expect(requests).toHaveLength(3);
    for (const [i, request] of requests.entries()) {
      expect(model.decode(request.context)).toBe(prompt);
      expect(model.decode(request.continuation)).toBe(MC.choices[i]);
    }
    expect(score.logLikelihoods).toEqual([-5, -1, -5]);
    expect(score.prediction).toBe('B');
    expect(score.predictedLabel).toBe(1);
  });

  it('acc and acc_norm can disagree', async () => {
    // "Answer: not equivalent" has 22 characters and "Answer: equivalent" 18. Summed
    // log-likelihoods -11 and -10 favour "equivalent"; per character -0.5 beats -0.556.
    const model = new FakeModel({
      score: (_, continuation) => (continuation.includes('not') ? -11 : -10),
    });
    const score = await scoreByLogLikelihood(model, pair('p', 0), 'compact');
    expect(score.prediction).toBe('equivalent');
    expect(score.predictedLabel).toBe(1);
    expect(score.predictionNorm).toBe('not equivalent');
    expect(score.predictedLabelNorm).toBe(0);
  });

  it('ties go to the first candidate', async () => {
    const score = await scoreByLogLikelihood(new FakeModel(), MC, 'compact');
    expect(score.prediction).toBe('A');
    expect(score.predictionNorm).toBe('A');
  });

  it('option texts as candidates', async () => {
    const model = new FakeModel({ score: (_, continuation) => -continuation.length });
    const score = await scoreByLogLikelihood(model, MC, 'compact', { candidates: 'options' });
    expect((model.scoreCalls[0] ?? []).map((r) => model.decode(r.continuation))).toEqual([
      'ice',
      'fire',
      'snow',
    ]);
    expect(score.prediction).toBe('A');
  });

  it('fits the longest candidate in the context', async () => {
    const prompt = renderPrompt(MC, 'compact').text;
    const model = new FakeModel({ contextLength: prompt.length + 4 });
    const score = await scoreByLogLikelihood(model, MC, 'compact');
    expect(score.truncated).toBe(true);
    for (const request of model.scoreCalls[0] ?? []) {
      expect(request.context.length + request.continuation.length).toBeLessThanOrEqual(
        model.contextLength,
      );
    }
  });

  it('rejects NaN log-likelihoods', async () => {
    const model = new FakeModel({ score: () => Number.NaN });
    await expect(scoreByLogLikelihood(model, MC, 'compact')).rejects.toThrow(/NaN/);
  });
});

describe('evaluateTask', () => {
  // Gold labels 1, 0, 1, 0, 1. The fake model answers "equivalent" for ids a, b, c and d, and
  // something invalid for e, which counts as FAILED.
  const examples = [pair('a', 1), pair('b', 0), pair('c', 1), pair('d', 0), pair('e', 1)];
  const respond = (prompt: string): string =>
    prompt.includes('first e') ? 'Answer: perhaps' : 'Answer: equivalent';

  it('generation metrics by hand', async () => {
    const result = await evaluateTask(new FakeModel({ respond }), examples, {
      template: 'compact',
      scoring: 'generation',
      task: 'mrpc',
    });
    expect(result.total).toBe(5);
    expect(result.correct).toBe(2);
    expect(result.failed).toBe(1);
    expect(result.truncated).toBe(0);
    expect(result.accuracy).toBeCloseTo(0.4, 12);
    // The FAILED answer on gold 1 counts as predicting 0: TP 2, FP 2, FN 1, so F1 = 4/7.
    expect(result.f1).toBeCloseTo(4 / 7, 12);
    expect(result.mcc).toBeUndefined();
    expect(result.accuracyNorm).toBeUndefined();
    expect(result.predictions.map((p) => p.prediction)).toEqual([
      'equivalent',
      'equivalent',
      'equivalent',
      'equivalent',
      FAILED,
    ]);
  });

  it('mcc when one class is never predicted', async () => {
    const result = await evaluateTask(
      new FakeModel({ respond: () => 'Answer: equivalent' }),
      examples,
      {
        template: 'compact',
        scoring: 'generation',
        metrics: ['accuracy', 'mcc'],
      },
    );
    expect(result.task).toBe('custom');
    expect(result.mcc).toBe(0);
    expect(result.accuracy).toBeCloseTo(0.6, 12);
  });

  it('log-likelihood reports acc_norm', async () => {
    const model = new FakeModel({
      score: (_, continuation) => (continuation.includes('not') ? -11 : -10),
    });
    const result = await evaluateTask(model, examples, {
      template: 'alpaca',
      scoring: 'loglikelihood',
    });
    expect(result.accuracy).toBeCloseTo(0.6, 12);
    expect(result.accuracyNorm).toBeCloseTo(0.4, 12);
    expect(result.failed).toBe(0);
    expect(result.predictions[1]?.correctNorm).toBe(true);
  });

  it.each([1, 2, 8])('batch size %i gives the same scores', async (batchSize) => {
    const model = new FakeModel({
      score: (context, continuation) =>
        context.includes(' c\n') === continuation.includes('not') ? -2 : -3,
    });
    const result = await evaluateTask(model, examples, {
      template: 'compact',
      scoring: 'loglikelihood',
      batchSize,
    });
    expect(model.scoreCalls).toHaveLength(Math.ceil(examples.length / batchSize));
    expect(model.scoreCalls.flat()).toHaveLength(2 * examples.length);
    // Only example c scores "not equivalent" lower, so every prediction is "equivalent" but c's.
    expect(result.predictions.map((p) => p.prediction)).toEqual([
      'equivalent',
      'equivalent',
      'not equivalent',
      'equivalent',
      'equivalent',
    ]);
  });

  it('rejects a short log-likelihood answer', async () => {
    const model = new FakeModel();
    model.logLikelihoods = async () => [0];
    await expect(
      evaluateTask(model, examples, { template: 'compact', scoring: 'loglikelihood' }),
    ).rejects.toThrow(/returned 1 values for 10 requests/);
  });

  it('progress, limit and logs', async () => {
    const events: ProgressEvent[] = [];
    const records: LogRecord[] = [];
    const logger = createLogger({ level: 'debug', sink: (record) => records.push(record) });
    const result = await evaluateTask(new FakeModel({ respond }), examples, {
      template: 'compact',
      scoring: 'generation',
      limit: 3,
      onProgress: (event) => events.push(event),
      logger,
    });
    expect(result.total).toBe(3);
    expect(events.map((e) => e.step)).toEqual([0, 1, 2, 3]);
    expect(events.every((e) => e.phase === 'eval' && e.total === 3)).toBe(true);
    expect(events[3]?.metrics?.accuracy).toBeCloseTo(2 / 3, 12);
    expect(records.map((r) => r.message)).toEqual(['evaluation started', 'evaluation finished']);
  });

  it('counts truncated prompts', async () => {
    const records: LogRecord[] = [];
    const logger = createLogger({ level: 'warn', sink: (record) => records.push(record) });
    const model = new FakeModel({ contextLength: 90, respond });
    const result = await evaluateTask(model, examples, {
      template: 'alpaca',
      scoring: 'generation',
      logger,
    });
    expect(result.truncated).toBe(5);
    expect(records[0]?.message).toMatch(/^5 of 5 prompts were truncated/);
  });

  it('uses the task of a split', async () => {
    const split = { task: 'cola', split: 'eval' as const, examples, skipped: [], dropped: [] };
    const result = await evaluateTask(new FakeModel({ respond }), split, {
      template: 'compact',
      scoring: 'generation',
    });
    expect(result.task).toBe('cola');
    expect(result.mcc).toBeDefined();
    expect(result.f1).toBeUndefined();
  });

  it.each([
    [{ scoring: 'sampling' }, /`scoring`/],
    [{ scoring: 'generation', limit: 0 }, /`limit`/],
    [{ scoring: 'loglikelihood', batchSize: 1.5 }, /`batchSize`/],
    [{ scoring: 'generation', metrics: ['f1'] }, /`metrics`.*example mc has 3/],
  ])('rejects %j', async (overrides, message) => {
    const options = { template: 'compact', ...overrides } as Parameters<typeof evaluateTask>[2];
    await expect(evaluateTask(new FakeModel(), [MC], options)).rejects.toThrow(message);
  });
});
