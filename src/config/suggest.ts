// "Did you mean ...?" for misspelt keys, node names, profiles and check types.

/** Optimal-string-alignment distance: Levenshtein plus adjacent transpositions, because
 *  swapped letters ("intreval") are one of the commonest typos. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    d.push(new Array<number>(b.length + 1).fill(0));
    d[i][0] = i;
  }
  for (let j = 0; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

// Case and separators are ignored so camelCase or dashed spellings (heartbeatInterval,
// node-timeout) find their snake_case key.
const normalise = (s: string): string => s.toLowerCase().replace(/[-_\s]/g, '');

/** The candidate closest to word, if it is close enough to be a plausible typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = normalise(word);
  // About one edit per three letters: catches real typos without suggesting unrelated words.
  const limit = Math.max(1, Math.floor(w.length / 3));
  let best: string | undefined;
  let bestDist = Infinity;
  for (const c of candidates) {
    if (c === word) continue;
    const dist = editDistance(w, normalise(c));
    if (dist <= limit && dist < Math.max(w.length, 1) && dist < bestDist) {
      best = c;
      bestDist = dist;
    }
  }
  return best;
}

/** ` (did you mean X?)` or '' — ready to append to a message. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const c = closest(word, candidates);
  return c === undefined ? '' : ` (did you mean ${c}?)`;
}
