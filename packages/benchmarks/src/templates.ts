import { ConfigError, formatValue } from '@guilomo/core';

/**
 * A prompt template. The prompt is `preamble + instruction + responseHeader`, and a training
 * text appends the example's output. Instructions end with a newline.
 */
export interface PromptTemplate {
  readonly name: string;
  readonly description: string;
  /** Text before the instruction. */
  readonly preamble: string;
  /** Text after the instruction. It ends with the response header and its newline. */
  readonly responseHeader: string;
  /**
   * Marker of the response in decoded text. When a generation contains it, the scorer reads
   * only the text after its last occurrence.
   */
  readonly responseMarker: string;
}

const ALPACA_PREAMBLE =
  'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\n';

/**
 * Alpaca without input, the template the GuiLoMo authors train and evaluate with. Its fixed
 * text is 141 characters, more than half of the 256-token context of a character-level model.
 */
export const ALPACA_TEMPLATE: PromptTemplate = {
  name: 'alpaca',
  description: 'Alpaca instruction template without input, as used by the GuiLoMo authors.',
  preamble: ALPACA_PREAMBLE,
  responseHeader: '\n\n### Response:\n',
  responseMarker: '### Response:',
};

/**
 * Short template for small-context models: the instruction followed by `Response:`. It avoids
 * `#`, which some character vocabularies (such as BabyLlama's 105 symbols) lack. The outputs
 * and therefore the scoring are the same as with `alpaca`.
 */
export const COMPACT_TEMPLATE: PromptTemplate = {
  name: 'compact',
  description: 'Instruction then "Response:", for models with a short context.',
  preamble: '',
  responseHeader: 'Response:\n',
  responseMarker: 'Response:',
};

/** Names of the built-in templates. */
export type PromptTemplateName = 'alpaca' | 'compact';

/** Built-in prompt templates by name. */
export const PROMPT_TEMPLATES: Readonly<Record<PromptTemplateName, PromptTemplate>> = {
  alpaca: ALPACA_TEMPLATE,
  compact: COMPACT_TEMPLATE,
};

/** Returns the template object, looking a name up in {@link PROMPT_TEMPLATES}. */
export function resolvePromptTemplate(template: PromptTemplate | string): PromptTemplate {
  if (typeof template !== 'string') {
    return template;
  }
  const found = Object.hasOwn(PROMPT_TEMPLATES, template)
    ? PROMPT_TEMPLATES[template as PromptTemplateName]
    : undefined;
  if (found === undefined) {
    throw new ConfigError(
      'template',
      `unknown prompt template ${formatValue(template)}; use one of ${Object.keys(PROMPT_TEMPLATES).join(', ')} or pass a PromptTemplate object.`,
    );
  }
  return found;
}
