// A training step of the same model in TensorFlow.js, the anchor of bench/train.ts and
// bench/threads.ts: autodiff of the loss, Adam with our betas, then a wait for the device's
// result, as our engines' steps wait.

import * as tf from '@tensorflow/tfjs-core';

/** An Adam optimizer with our engines' betas and epsilon. */
export function tfjsAdam(lr: number): tf.AdamOptimizer {
  return tf.train.adam(lr, 0.9, 0.95, 1e-8);
}

/** One step: the gradients of `loss` applied by `adam`; resolves once the loss has been read back. */
export async function tfjsTrainingStep(adam: tf.AdamOptimizer, loss: () => tf.Scalar): Promise<void> {
  const value = tf.tidy(() => {
    const { value: computed, grads } = tf.variableGrads(loss);
    adam.applyGradients(grads as unknown as Parameters<typeof adam.applyGradients>[0]);
    return computed;
  });
  await value.data(); // wait for the device, as our engines do
  value.dispose();
}
