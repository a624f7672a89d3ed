import { ConfigError } from '@guilomo/core';
import { describe, expect, it } from 'vitest';
import {
  ALPACA_TEMPLATE,
  buildClassificationExample,
  buildMultipleChoiceExample,
  COMPACT_TEMPLATE,
  renderPrompt,
  renderTraining,
  resolvePromptTemplate,
} from '../src/index.js';

const MC = buildMultipleChoiceExample({
  id: 'mc-1',
  context: 'Cats like warm places.',
  question: 'Where does the cat sleep?',
  options: ['in the snow', 'by the fire'],
  label: 1,
});

const MC_INSTRUCTION =
  'Context: Cats like warm places.\nQuestion: Where does the cat sleep?\nOptions: (A) in the snow (B) by the fire\n';

const ALPACA_PREAMBLE =
  'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\n';

describe('records', () => {
  it('multiple-choice fields', () => {
    expect(MC.instruction).toBe(MC_INSTRUCTION);
    expect(MC.output).toBe('Answer: The answer is B.');
    expect(MC.answer).toBe('B');
    expect(MC.choices).toEqual(['Answer: The answer is A.', 'Answer: The answer is B.']);
    expect(MC.instruction.slice(MC.protectedFrom)).toBe(
      'Options: (A) in the snow (B) by the fire\n',
    );
  });

  it('empty context becomes N/A', () => {
    const example = buildMultipleChoiceExample({
      id: 'x',
      context: ' ',
      question: 'q?',
      options: ['a', 'b'],
      label: 0,
    });
    expect(example.instruction).toBe('Context: N/A\nQuestion: q?\nOptions: (A) a (B) b\n');
  });

  it('classification fields', () => {
    const example = buildClassificationExample({
      id: 'c-1',
      inputs: [['Sentence', 'The cat sat.']],
      question: 'Is it acceptable?',
      labelWords: ['unacceptable', 'acceptable'],
      label: 1,
    });
    expect(example.instruction).toBe(
      'Sentence: The cat sat.\nQuestion: Is it acceptable?\nOptions: unacceptable, acceptable\n',
    );
    expect(example.output).toBe('Answer: acceptable');
    expect(example.instruction.slice(example.protectedFrom)).toMatch(/^Question: /);
  });
});

describe('templates', () => {
  it('alpaca prompt is exact', () => {
    const rendered = renderPrompt(MC, 'alpaca');
    expect(rendered.text).toBe(`${ALPACA_PREAMBLE}${MC_INSTRUCTION}\n\n### Response:\n`);
    expect(rendered.truncated).toBe(false);
  });

  it('compact prompt is exact', () => {
    expect(renderPrompt(MC, 'compact').text).toBe(`${MC_INSTRUCTION}Response:\n`);
  });

  it.each(['alpaca', 'compact'])('%s training text appends the output', (name) => {
    const training = renderTraining(MC, name);
    expect(training.text).toBe(`${renderPrompt(MC, name).text}Answer: The answer is B.`);
    expect(training.prompt).toBe(renderPrompt(MC, name).text);
    expect(training.output).toBe(MC.output);
  });

  it('template objects pass through', () => {
    expect(resolvePromptTemplate(COMPACT_TEMPLATE)).toBe(COMPACT_TEMPLATE);
    expect(resolvePromptTemplate('alpaca')).toBe(ALPACA_TEMPLATE);
  });

  it('unknown template name', () => {
    expect(() => renderPrompt(MC, 'vicuna')).toThrow(ConfigError);
    expect(() => renderPrompt(MC, 'vicuna')).toThrow(/"vicuna".*alpaca, compact/);
  });
});

describe('truncation', () => {
  const full = renderPrompt(MC, 'compact').text;

  it('budget that fits leaves the prompt', () => {
    const rendered = renderPrompt(MC, 'compact', { maxChars: full.length });
    expect(rendered).toEqual({
      text: full,
      truncated: false,
      droppedChars: 0,
      protectedTextCut: false,
    });
  });

  it.each([1, 10, 40])('drops %i characters from the start', (excess) => {
    const rendered = renderPrompt(MC, 'compact', { maxChars: full.length - excess });
    expect(rendered.text).toBe(full.slice(excess));
    expect(rendered.truncated).toBe(true);
    expect(rendered.droppedChars).toBe(excess);
    expect(rendered.protectedTextCut).toBe(false);
  });

  it('keeps the template preamble and the options', () => {
    const rendered = renderPrompt(MC, 'alpaca', { maxChars: ALPACA_PREAMBLE.length + 70 });
    expect(rendered.text.startsWith(ALPACA_PREAMBLE)).toBe(true);
    expect(
      rendered.text.endsWith('Options: (A) in the snow (B) by the fire\n\n\n### Response:\n'),
    ).toBe(true);
    expect(rendered.text).toHaveLength(ALPACA_PREAMBLE.length + 70);
    expect(rendered.protectedTextCut).toBe(false);
  });

  it('cuts protected text only when needed', () => {
    const rendered = renderPrompt(MC, 'alpaca', { maxChars: 50 });
    expect(rendered.text).toHaveLength(50);
    expect(rendered.text.endsWith('the fire\n\n\n### Response:\n')).toBe(true);
    expect(rendered.protectedTextCut).toBe(true);
    expect(rendered.droppedChars).toBe(renderPrompt(MC, 'alpaca').text.length - 50);
  });

  it('never cuts the response header', () => {
    expect(() => renderPrompt(MC, 'compact', { maxChars: 5 })).toThrow(ConfigError);
    expect(() => renderPrompt(MC, 'compact', { maxChars: 5 })).toThrow(/maxChars/);
  });

  it('training budget covers the output', () => {
    const output = MC.output.length;
    const training = renderTraining(MC, 'compact', { maxChars: full.length + output - 7 });
    expect(training.text).toBe(full.slice(7) + MC.output);
    expect(training.droppedChars).toBe(7);
    expect(training.truncated).toBe(true);
  });

  it('token budget with reserve', () => {
    // One token per character plus a BOS token, so the limit 70 - 10 leaves 59 characters.
    const encode = (text: string): number[] => [1, ...Array.from(text, (c) => c.charCodeAt(0))];
    const rendered = renderPrompt(MC, 'compact', { encode, contextLength: 70, reserveTokens: 10 });
    expect(rendered.text).toHaveLength(59);
    expect(rendered.text).toBe(full.slice(full.length - 59));
    expect(rendered.protectedTextCut).toBe(false);
  });

  it('token budget too small for the header', () => {
    const encode = (text: string): number[] => Array.from(text, (c) => c.charCodeAt(0));
    expect(() => renderPrompt(MC, 'compact', { encode, contextLength: 8 })).toThrow(
      /contextLength/,
    );
  });
});
