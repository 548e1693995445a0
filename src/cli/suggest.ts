// "Did you mean" for command and option names, on the spec's edit distance (src/spec/suggest.ts);
// a one-letter flag has too little to go on, so it gets no suggestion.
import { suggest } from '../spec/suggest.js';

/** The candidate nearest to `word`, when it is near enough to be a likely typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  if (word.replace(/^-+/, '').length < 2) return undefined;
  return suggest(word, candidates);
}
