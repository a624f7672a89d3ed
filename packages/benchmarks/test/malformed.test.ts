import { join } from 'node:path';
import { FormatError, GuiLoMoError } from '@guilomo/core';
import { describe, expect, it } from 'vitest';
import type { TaskLoader } from '../src/index.js';
import {
  loadBoolq,
  loadCola,
  loadCommonsenseQa,
  loadMrpc,
  loadRte,
  loadScienceQa,
} from '../src/index.js';
import { withTempFiles } from './helpers.js';

const MRPC_HEADER = '\ufeffQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\r\n';

function csqaRow(answerKey: string, stem = 'Where is a cat?'): string {
  const choices = ['A', 'B', 'C'].map((label, i) => ({ label, text: `place ${i}` }));
  return JSON.stringify({ id: `q-${answerKey}`, question: { stem, choices }, answerKey });
}

interface MalformedCase {
  readonly name: string;
  readonly load: TaskLoader;
  readonly file: string;
  readonly text: string;
  /** 1-based line of the malformed row. */
  readonly line: number;
  readonly field: string;
  /** Examples left after skipping the malformed row. */
  readonly remaining: number;
}

const CASES: readonly MalformedCase[] = [
  {
    name: 'mrpc bad quality',
    load: loadMrpc,
    file: 'msr_paraphrase_test.txt',
    text: `${MRPC_HEADER}1\t1\t2\tA cat sat.\tThe cat sat.\r\nyes\t3\t4\tA dog ran.\tThe dog ran.\r\n0\t5\t6\tIt rained.\tIt was sunny.\r\n`,
    line: 3,
    field: 'Quality',
    remaining: 2,
  },
  {
    name: 'mrpc missing column',
    load: loadMrpc,
    file: 'msr_paraphrase_test.txt',
    text: `${MRPC_HEADER}1\t1\t2\tA cat sat.\r\n`,
    line: 2,
    field: '(row)',
    remaining: 0,
  },
  {
    name: 'mrpc empty sentence',
    load: loadMrpc,
    file: 'msr_paraphrase_test.txt',
    text: `${MRPC_HEADER}1\t1\t2\tA cat sat.\t \r\n0\t5\t6\tIt rained.\tIt was sunny.\r\n`,
    line: 2,
    field: '#2 String',
    remaining: 1,
  },
  {
    name: 'cola bad label',
    load: loadCola,
    file: 'data_CoLA_dev.tsv',
    text: 'gj04\t1\t\tThe cat sat.\ngj04\t2\t*\tCat the sat.\n',
    line: 2,
    field: 'label',
    remaining: 1,
  },
  {
    name: 'rte invalid json',
    load: loadRte,
    file: 'SuperGlue_RTE_val.jsonl',
    text: '{"premise": "p", "hypothesis": "h", "label": "entailment", "idx": 0}\n{"premise": "p"\n',
    line: 2,
    field: '(line)',
    remaining: 1,
  },
  {
    name: 'rte unknown label',
    load: loadRte,
    file: 'SuperGlue_RTE_val.jsonl',
    text: '\n{"premise": "p", "hypothesis": "h", "label": "maybe", "idx": 0}\n{"premise": "p", "hypothesis": "h", "label": "entailment", "idx": 1}\n',
    line: 2,
    field: 'label',
    remaining: 1,
  },
  {
    name: 'rte missing hypothesis',
    load: loadRte,
    file: 'SuperGlue_RTE_val.jsonl',
    text: '{"premise": "p", "label": "entailment", "idx": 0}\n',
    line: 1,
    field: 'hypothesis',
    remaining: 0,
  },
  {
    name: 'csqa unknown answer key',
    load: loadCommonsenseQa,
    file: 'dataset_CSQA_dev_rand_split.jsonl',
    text: `${csqaRow('A')}\n${csqaRow('B')}\n${csqaRow('F')}\n`,
    line: 3,
    field: 'answerKey',
    remaining: 2,
  },
  {
    name: 'csqa choice without text',
    load: loadCommonsenseQa,
    file: 'dataset_CSQA_dev_rand_split.jsonl',
    text: `${JSON.stringify({ id: 'x', question: { stem: 's', choices: [{ label: 'A', text: 'a' }, { label: 'B' }] }, answerKey: 'A' })}\n`,
    line: 1,
    field: 'question.choices.1.text',
    remaining: 0,
  },
  {
    name: 'boolq adapters bad answer',
    load: loadBoolq,
    file: 'llm-adapters_boolq_train.json',
    text: JSON.stringify(
      [
        {
          instruction: 'Please answer, question: is it?\n\nAnswer format: true/false',
          answer: 'true',
        },
        {
          instruction: 'Please answer, question: is it?\n\nAnswer format: true/false',
          answer: 'perhaps',
        },
      ],
      null,
      2,
    ),
    line: 6,
    field: 'answer',
    remaining: 1,
  },
];

describe('malformed rows', () => {
  it.each(CASES)('$name raises FormatError', async ({ load, file, text, line, field }) => {
    await withTempFiles({ [file]: text }, async (dir) => {
      const error = await load(dir, 'eval', { files: [file] }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FormatError);
      const message = (error as Error).message;
      expect(message).toContain(join(dir, file));
      expect(message).toContain(`at line ${line}:`);
      expect(message).toContain(`field "${field}"`);
    });
  });

  it.each(CASES)(
    '$name is skipped and counted',
    async ({ load, file, text, line, field, remaining }) => {
      await withTempFiles({ [file]: text }, async (dir) => {
        const split = await load(dir, 'eval', { files: [file], onInvalidRow: 'skip' });
        expect(split.examples).toHaveLength(remaining);
        expect(split.skipped).toHaveLength(1);
        expect(split.skipped[0]?.line).toBe(line);
        expect(split.skipped[0]?.file).toBe(join(dir, file));
        expect(split.skipped[0]?.reason).toContain(`field "${field}"`);
      });
    },
  );
});

describe('file level errors', () => {
  it('mrpc rejects a wrong header', async () => {
    await withTempFiles({ 'mrpc.txt': 'Label\tA\tB\n1\t1\t2\ta\tb\n' }, async (dir) => {
      await expect(loadMrpc(dir, 'eval', { files: ['mrpc.txt'] })).rejects.toThrow(
        /expected the MRPC header/,
      );
    });
  });

  it('mrpc records made-up rows as dropped', async () => {
    const text = `${MRPC_HEADER}1\t1\t2\tA cat sat.\tThe cat sat.\r\n0\t-1\t-1\tI like apples.\tI hate apples.\r\n`;
    await withTempFiles({ 'train.txt': text }, async (dir) => {
      const split = await loadMrpc(dir, 'train', { files: ['train.txt'] });
      expect(split.examples).toHaveLength(1);
      expect(split.dropped).toEqual([
        { file: join(dir, 'train.txt'), line: 3, reason: expect.stringContaining('-1') },
      ]);
      expect(split.skipped).toHaveLength(0);
    });
  });

  it('missing file names the path', async () => {
    await withTempFiles({}, async (dir) => {
      const error = await loadRte(dir, 'eval').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GuiLoMoError);
      expect((error as Error).message).toContain(join(dir, 'SuperGlue_RTE_val.jsonl'));
      expect((error as Error).message).toContain('not found');
    });
  });

  it('json array file that is not an array', async () => {
    await withTempFiles({ 'x.json': '{"id": "1"}' }, async (dir) => {
      await expect(loadScienceQa(dir, 'eval', { files: ['x.json'] })).rejects.toThrow(
        /must contain a JSON array/,
      );
    });
  });
});

describe('scienceqa llava records', () => {
  const item = (id: string, prompt: string, reply: string, image?: string): object => ({
    id,
    ...(image === undefined ? {} : { image }),
    conversations: [
      { from: 'human', value: prompt },
      { from: 'gpt', value: reply },
    ],
  });

  it('reports the start line of a bad item', async () => {
    const items = [
      item('1', 'Which is a fruit?\nA. apple\nB. stone', 'A'),
      item('2', 'Which is hot?\nA. ice\nB. fire', 'B', '2/image.png'),
      item('3', 'Which is blue?\nA. sky\nB. grass', 'Z'),
    ];
    // Pretty-printed with 2 spaces, the items start on lines 2, 15 and 29.
    await withTempFiles({ 'test.json': JSON.stringify(items, null, 2) }, async (dir) => {
      const error = await loadScienceQa(dir, 'eval', { files: ['test.json'] }).catch(
        (e: unknown) => e,
      );
      expect((error as Error).message).toContain('at line 29:');
      expect((error as Error).message).toContain('field "conversations.1.value"');
      const split = await loadScienceQa(dir, 'eval', {
        files: ['test.json'],
        onInvalidRow: 'skip',
      });
      expect(split.examples.map((e) => e.id)).toEqual(['1']);
      expect(split.dropped.map((row) => row.line)).toEqual([15]);
      expect(split.skipped.map((row) => row.line)).toEqual([29]);
    });
  });

  it('reads context and multi-line options', async () => {
    const prompt =
      'Context: Read the letter.\nIt ends well.\nWhich closing is correct?\nA. See you,\nAnn\nB. see you,\nAnn';
    await withTempFiles({ 'test.json': JSON.stringify([item('7', prompt, 'A')]) }, async (dir) => {
      const split = await loadScienceQa(dir, 'eval', { files: ['test.json'] });
      expect(split.examples[0]?.instruction).toBe(
        'Context: Read the letter.\nIt ends well.\nQuestion: Which closing is correct?\nOptions: (A) See you,\nAnn (B) see you,\nAnn\n',
      );
      expect(split.examples[0]?.options).toEqual(['See you,\nAnn', 'see you,\nAnn']);
    });
  });
});
