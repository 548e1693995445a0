// Splits a command string into words with POSIX shell quoting rules but without a shell:
// compose does this for a string `command`/`entrypoint`, and so must we, since we exec directly.

/** The words of `text`, or the reason it cannot be split (an unterminated quote or escape). */
export function splitWords(text: string): { ok: true; words: string[] } | { ok: false; reason: string } {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
      continue;
    }
    inWord = true;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) return { ok: false, reason: `unterminated single quote at character ${i + 1}` };
      word += text.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      let j = i + 1;
      for (;;) {
        if (j >= text.length) return { ok: false, reason: `unterminated double quote at character ${i + 1}` };
        const d = text[j]!;
        if (d === '"') break;
        if (d === '\\' && j + 1 < text.length && '$`"\\\n'.includes(text[j + 1]!)) {
          if (text[j + 1] !== '\n') word += text[j + 1];
          j += 2;
        } else {
          word += d;
          j++;
        }
      }
      i = j + 1;
    } else if (c === '\\') {
      if (i + 1 >= text.length) return { ok: false, reason: 'a backslash ends the command' };
      if (text[i + 1] !== '\n') word += text[i + 1];
      else if (word === '') inWord = false;
      i += 2;
    } else {
      word += c;
      i++;
    }
  }
  if (inWord) words.push(word);
  return { ok: true, words };
}
