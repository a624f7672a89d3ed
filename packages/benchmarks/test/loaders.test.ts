import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Split, TaskLoader } from '../src/index.js';
import {
  defaultDataDir,
  loadArcEasy,
  loadBoolq,
  loadCola,
  loadCommonsenseQa,
  loadMrpc,
  loadOpenBookQa,
  loadRte,
  loadScienceQa,
  loadTask,
  TASKS,
} from '../src/index.js';
import { sharedTaskDir } from './helpers.js';

interface CountCase {
  readonly task: string;
  readonly load: TaskLoader;
  readonly split: Split;
  readonly examples: number;
  readonly dropped: number;
}

const COUNT_CASES: readonly CountCase[] = [
  { task: 'mrpc', load: loadMrpc, split: 'train', examples: 4076, dropped: 4 },
  { task: 'mrpc', load: loadMrpc, split: 'eval', examples: 1725, dropped: 0 },
  { task: 'cola', load: loadCola, split: 'train', examples: 8551, dropped: 0 },
  { task: 'cola', load: loadCola, split: 'eval', examples: 1043, dropped: 0 },
  { task: 'rte', load: loadRte, split: 'train', examples: 2490, dropped: 0 },
  { task: 'rte', load: loadRte, split: 'eval', examples: 277, dropped: 0 },
  { task: 'scienceqa', load: loadScienceQa, split: 'train', examples: 400, dropped: 0 },
  { task: 'scienceqa', load: loadScienceQa, split: 'eval', examples: 2224, dropped: 2017 },
  { task: 'commonsenseqa', load: loadCommonsenseQa, split: 'train', examples: 9741, dropped: 0 },
  { task: 'commonsenseqa', load: loadCommonsenseQa, split: 'eval', examples: 1221, dropped: 0 },
  { task: 'openbookqa', load: loadOpenBookQa, split: 'train', examples: 4957, dropped: 0 },
  { task: 'openbookqa', load: loadOpenBookQa, split: 'eval', examples: 500, dropped: 0 },
  { task: 'arc-easy', load: loadArcEasy, split: 'train', examples: 2251, dropped: 0 },
  { task: 'arc-easy', load: loadArcEasy, split: 'eval', examples: 2376, dropped: 0 },
  { task: 'boolq', load: loadBoolq, split: 'train', examples: 9427, dropped: 0 },
  { task: 'boolq', load: loadBoolq, split: 'eval', examples: 3270, dropped: 0 },
];

describe('loaders on the shared files', () => {
  it.each(COUNT_CASES)(
    '$task $split has $examples examples',
    async ({ task, load, split, examples, dropped }) => {
      const result = await load(sharedTaskDir(task), split);
      expect(result.task).toBe(task);
      expect(result.split).toBe(split);
      expect(result.examples).toHaveLength(examples);
      expect(result.dropped).toHaveLength(dropped);
      expect(result.skipped).toHaveLength(0);
      const outputMismatch = result.examples.filter((e) => e.choices[e.label] !== e.output);
      expect(outputMismatch.map((e) => e.id)).toEqual([]);
      const noFinalNewline = result.examples.filter((e) => !e.instruction.endsWith('\n'));
      expect(noFinalNewline.map((e) => e.id)).toEqual([]);
      if (split === 'eval' && task in TASKS) {
        expect(TASKS[task as keyof typeof TASKS].evalSize).toBe(examples);
      }
    },
  );

  it('mrpc drops the four made-up rows', async () => {
    const train = await loadMrpc(sharedTaskDir('mrpc'), 'train');
    expect(train.dropped.map((row) => row.line)).toEqual([4078, 4079, 4080, 4081]);
    expect(train.examples.filter((e) => e.label === 1)).toHaveLength(2753);
  });

  it('mrpc first test record', async () => {
    const test = await loadMrpc(sharedTaskDir('mrpc'), 'eval');
    const first = test.examples[0];
    expect(first?.id).toBe('msr_paraphrase_test.txt:1089874-1089925');
    expect(first?.instruction).toBe(
      "Sentence 1: PCCW's chief operating officer, Mike Butcher, and Alex Arena, the chief financial officer, will report directly to Mr So.\n" +
        'Sentence 2: Current Chief Operating Officer Mike Butcher and Group Chief Financial Officer Alex Arena will report to So.\n' +
        'Question: Do the two sentences mean the same thing?\nOptions: not equivalent, equivalent\n',
    );
    expect(first?.output).toBe('Answer: equivalent');
    expect(first?.answer).toBe('equivalent');
    expect(first?.label).toBe(1);
    expect(first?.choices).toEqual(['Answer: not equivalent', 'Answer: equivalent']);
    expect(first?.instruction.slice(first.protectedFrom)).toMatch(/^Question: /);
  });

  it('cola first dev record', async () => {
    const dev = await loadCola(sharedTaskDir('cola'), 'eval');
    const first = dev.examples[0];
    expect(first?.instruction).toBe(
      'Sentence: The sailors rode the breeze clear of the rocks.\nQuestion: Is this sentence grammatically acceptable?\nOptions: unacceptable, acceptable\n',
    );
    expect(first?.answer).toBe('acceptable');
    expect(dev.examples.filter((e) => e.label === 0)).toHaveLength(322);
  });

  it('rte first val record', async () => {
    const val = await loadRte(sharedTaskDir('rte'), 'eval');
    const first = val.examples[0];
    expect(first?.id).toBe('SuperGlue_RTE_val.jsonl:0');
    expect(first?.instruction).toBe(
      'Premise: Dana Reeve, the widow of the actor Christopher Reeve, has died of lung cancer at age 44, according to the Christopher Reeve Foundation.\n' +
        'Hypothesis: Christopher Reeve had an accident.\nQuestion: Does the premise entail the hypothesis?\nOptions: entailment, not entailment\n',
    );
    expect(first?.output).toBe('Answer: not entailment');
    expect(first?.label).toBe(1);
  });

  it('commonsenseqa first dev record', async () => {
    const dev = await loadCommonsenseQa(sharedTaskDir('commonsenseqa'), 'eval');
    const first = dev.examples[0];
    expect(first?.id).toBe('1afa02df02c908a558b4036e80242fac');
    expect(first?.instruction).toBe(
      'Context: N/A\nQuestion: A revolving door is convenient for two direction travel, but it also serves as a security measure at a what?\n' +
        'Options: (A) bank (B) library (C) department store (D) mall (E) new york\n',
    );
    expect(first?.output).toBe('Answer: The answer is A.');
    expect(first?.answer).toBe('A');
    expect(first?.options).toEqual(['bank', 'library', 'department store', 'mall', 'new york']);
    expect(first?.instruction.slice(first.protectedFrom)).toMatch(/^Options: /);
  });

  it('openbookqa first test record', async () => {
    const test = await loadOpenBookQa(sharedTaskDir('openbookqa'), 'eval');
    const first = test.examples[0];
    expect(first?.id).toBe('8-343');
    expect(first?.answer).toBe('B');
    expect(first?.options[1]).toBe('quit eating lunch out');
  });

  it('arc-easy maps digit labels to letters', async () => {
    const test = await loadArcEasy(sharedTaskDir('arc-easy'), 'eval');
    expect(test.examples[0]?.id).toBe('Mercury_417466');
    expect(test.examples[0]?.answer).toBe('A');
    const source = (
      await readFile(join(sharedTaskDir('arc-easy'), TASKS['arc-easy'].files.eval[0] ?? ''), 'utf8')
    )
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as { id: string; answerKey: string });
    const digitRow = source.findIndex((row) => /^\d$/.test(row.answerKey));
    const row = source[digitRow];
    const example = test.examples[digitRow];
    expect(example?.id).toBe(row?.id);
    expect(example?.answer).toBe('ABCDE'.charAt(Number(row?.answerKey) - 1));
  });

  it('boolq reads both file layouts', async () => {
    const dir = sharedTaskDir('boolq');
    const val = await loadBoolq(dir, 'eval');
    expect(val.examples[0]?.instruction).toMatch(/^Passage: Ethanol fuel -- /);
    expect(val.examples[0]?.instruction).toMatch(
      /\nQuestion: does ethanol take more energy make that produces\?\nOptions: no, yes\n$/,
    );
    expect(val.examples.filter((e) => e.answer === 'yes')).toHaveLength(2033);
    const train = await loadBoolq(dir, 'train');
    expect(train.examples[0]?.instruction).toBe(
      'Question: do iran and afghanistan speak the same language?\nOptions: no, yes\n',
    );
    expect(train.examples[0]?.output).toBe('Answer: yes');
    expect(train.examples[0]?.id).toBe('llm-adapters_boolq_train.json:2');
  });
});

describe('scienceqa loader', () => {
  it('first text-only test item', async () => {
    const test = await loadScienceQa(sharedTaskDir('scienceqa'), 'eval');
    const first = test.examples[0];
    expect(first?.id).toBe('4');
    expect(first?.instruction).toBe(
      'Context: N/A\nQuestion: Which figure of speech is used in this text?\nSing, O goddess, the anger of Achilles son of Peleus, that brought countless ills upon the Achaeans.\n' +
        '\u2014Homer, The Iliad\nOptions: (A) chiasmus (B) apostrophe\n',
    );
    expect(first?.answer).toBe('B');
    expect(test.dropped[0]?.reason).toMatch(/image/);
  });

  it('rebuilds the MoLA instructions and outputs', async () => {
    const dir = sharedTaskDir('scienceqa');
    for (const name of ['train', 'validation', 'test']) {
      const file = `mola_sampled/${name}.jsonl`;
      const split = await loadScienceQa(dir, 'train', { files: [file] });
      const rows = (await readFile(join(dir, file), 'utf8'))
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as { instruction: string; output: string });
      expect(split.examples).toHaveLength(200);
      split.examples.forEach((example, i) => {
        expect(example.instruction).toBe(rows[i]?.instruction);
        expect(example.output).toBe(rows[i]?.output);
      });
    }
  });

  it('splits context and question as MoLA does', async () => {
    // The MoLA test sample is drawn from the test split, so each of its instructions must be
    // rebuilt exactly from the LLaVA prompt, where hint and question are not delimited.
    const dir = sharedTaskDir('scienceqa');
    const test = await loadScienceQa(dir, 'eval');
    const instructions = new Set(test.examples.map((example) => example.instruction));
    const sample = await loadScienceQa(dir, 'train', { files: ['mola_sampled/test.jsonl'] });
    const multiLineContext = sample.examples.filter((e) =>
      e.instruction.split('\nQuestion: ')[0]?.includes('\n'),
    );
    expect(multiLineContext.length).toBeGreaterThan(10);
    for (const example of sample.examples) {
      expect(instructions.has(example.instruction)).toBe(true);
    }
  });
});

describe('openbookqa assets', () => {
  it.each([
    ['train', 1000],
    ['eval', 500],
  ] as const)('%s split has %i examples', async (split, count) => {
    const assets = await loadOpenBookQa(join(defaultDataDir(), 'openbookqa'), split);
    const shared = await loadOpenBookQa(sharedTaskDir('openbookqa'), split);
    expect(assets.examples).toHaveLength(count);
    expect(JSON.stringify(assets.examples)).toBe(JSON.stringify(shared.examples.slice(0, count)));
  });

  it('loadTask defaults to the assets', async () => {
    const test = await loadTask('openbookqa', 'eval');
    expect(test.examples).toHaveLength(500);
    expect(test.examples[0]?.id).toBe('8-343');
  });

  it('loadTask reads a data root', async () => {
    const dev = await loadTask('rte', 'eval', { dataRoot: sharedTaskDir('') });
    expect(dev.examples).toHaveLength(277);
  });
});
