import type { Example } from '../example.js';
import { buildMultipleChoiceExample, requireOptionCount, resolveOptionIndex } from '../records.js';
import { getField, requireArray, requireString } from '../source-rows.js';

/**
 * Parses a record in the AI2 question layout shared by CommonsenseQA, OpenBookQA and ARC:
 * `{id, question: {stem, choices: [{label, text}]}, answerKey}`. The answer key is matched
 * against the choice labels, which are letters in most files and digits in some ARC rows.
 * The prompt letters are always A, B, C, ... by position.
 */
export function parseAi2Question(value: unknown): Example {
  const id = requireString(value, 'id');
  const stem = requireString(value, 'question.stem');
  const count = requireArray(value, 'question.choices').length;
  requireOptionCount(count, 'question.choices');
  const options: string[] = [];
  const labels: string[] = [];
  for (let i = 0; i < count; i++) {
    options.push(requireString(value, `question.choices.${i}.text`));
    labels.push(requireString(value, `question.choices.${i}.label`));
  }
  const label = resolveOptionIndex(getField(value, 'answerKey'), 'answerKey', count, labels);
  return buildMultipleChoiceExample({ id, context: '', question: stem, options, label });
}
