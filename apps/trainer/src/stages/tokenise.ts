import type { Example } from '@guilomo/benchmarks';
import { renderTraining } from '@guilomo/benchmarks';
import { BOS_ID, EOS_ID } from '@guilomo/models';
import type { TokenisedExample } from '../data.js';
import { tokeniseTexts } from '../data.js';
import type { Session } from '../session.js';

/**
 * Renders training examples with the configured template (prompt shortened to fit the context
 * when needed) and tokenises them with BOS and EOS.
 */
export function tokeniseTraining(session: Session, examples: readonly Example[]): { examples: TokenisedExample[]; truncated: number } {
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
  return { examples: result.examples, truncated: result.truncated + promptsCut };
}
