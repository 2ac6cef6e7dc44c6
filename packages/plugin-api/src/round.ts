/**
 * Rounds to three decimals: times in seconds to the millisecond (segment and event times), and ratios,
 * probabilities and confidences as they are reported.
 */
export function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
