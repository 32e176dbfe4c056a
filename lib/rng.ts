/** A small seeded pseudo-random generator (LCG) in [0, 1): generated data and fault plans are reproducible from their seed. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
