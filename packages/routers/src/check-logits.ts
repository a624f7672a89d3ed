import { ShapeError } from '@guilomo/core';
import type { Tensor2D } from '@tensorflow/tfjs-core';

/** Throws unless `logits` is a float32 `[tokens, numExperts]` tensor. */
export function checkLogits(logits: Tensor2D, numExperts: number, routerId: string): void {
  if (logits.rank !== 2 || logits.shape[1] !== numExperts) {
    throw new ShapeError(
      `${routerId} expects router logits [tokens, ${numExperts}], received [${logits.shape.join(', ')}]. Create the router with numExperts equal to the logits' last dimension.`,
    );
  }
  if (logits.dtype !== 'float32') {
    throw new ShapeError(`${routerId} expects float32 router logits, received ${logits.dtype}.`);
  }
}
