import type { Example } from '@guilomo/benchmarks';
import { renderTraining } from '@guilomo/benchmarks';
import { BOS_ID, EOS_ID } from '@guilomo/models';
import type { TokenisedExample } from '../data.js';
import { tokeniseTexts } from '../data.js';
import type { Session } from '../session.js';

/**
 * Renders training examples with the configured template (prompt shortened to fit the context
 * when needed), tokenises them with BOS and EOS, and logs a warning with two
 * counts: prompts shortened to fit (the instruction's start is dropped, the answer kept) and
 * sequences cut at the end (which can lose the answer).
 */
export function tokeniseTrainingLogged(session: Session, examples: readonly Example[]): TokenisedExample[] {
  const result = tokeniseTrainingCounted(session, examples);
  if (result.promptsShortened > 0 || result.sequencesCut > 0) {
    session.logger.warn(
      `${result.promptsShortened} of ${result.examples.length} training prompts were shortened to fit data.maxLength = ${session.config.data.maxLength} tokens (the start of the instruction is dropped, the answer kept); ${result.sequencesCut} sequences were cut at the end.`,
    );
  }
  return result.examples;
}

function tokeniseTrainingCounted(
  session: Session,
  examples: readonly Example[],
): { examples: TokenisedExample[]; promptsShortened: number; sequencesCut: number } {
  const { config, tokenizer, model } = session;
  const maxLength = Math.min(config.data.maxLength, model.config.seqLen);
  const encode = (text: string) => tokenizer.encode(text, { bos: false, eos: false });
  let promptsCut = 0;
  const texts = examples.map((example) => {
    // Leave room for BOS and EOS.
    const rendered = renderTraining(example, config.data.template, { encode, contextLength: maxLength, reserveTokens: 2 });
    if (rendered.truncated) {
      promptsCut++;
    }
    return rendered.text;
  });
  const result = tokeniseTexts(texts, encode, maxLength, BOS_ID, EOS_ID);
  return { examples: result.examples, promptsShortened: promptsCut, sequencesCut: result.truncated };
}
