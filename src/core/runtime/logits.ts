// Log-probabilities from raw logits rows (float64 accumulation).

export interface Ranked {
  id: number;
  logprob: number;
}

/** log Σ exp(row) of logits[offset, offset + width). */
export function logSumExp(logits: Float32Array, offset: number, width: number): number {
  let max = -Infinity;
  for (let i = 0; i < width; i++) max = Math.max(max, logits[offset + i]);
  let sum = 0;
  for (let i = 0; i < width; i++) sum += Math.exp(logits[offset + i] - max);
  return max + Math.log(sum);
}

/** The k most likely ids of one row, sorted by log-probability (ties: lower id first). */
export function topK(logits: Float32Array, offset: number, width: number, k: number): Ranked[] {
  const lse = logSumExp(logits, offset, width);
  const best: Ranked[] = [];
  for (let i = 0; i < width; i++) {
    const lp = logits[offset + i] - lse;
    if (best.length < k || lp > best[best.length - 1].logprob) {
      let j = best.length < k ? best.length : best.length - 1;
      if (best.length < k) best.push({ id: i, logprob: lp });
      while (j > 0 && best[j - 1].logprob < lp) {
        best[j] = best[j - 1];
        j--;
      }
      best[j] = { id: i, logprob: lp };
    }
  }
  return best;
}
