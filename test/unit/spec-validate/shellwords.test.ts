import { expect, test } from 'vitest';
import { splitWords } from '../../../src/spec/shellwords.js';

test.each([
  ['echo hello world', ['echo', 'hello', 'world']],
  ['  spaced\t out  ', ['spaced', 'out']],
  [`sh -c 'echo $HOME && ls'`, ['sh', '-c', 'echo $HOME && ls']],
  [`echo "a \\"quoted\\" $word"`, ['echo', 'a "quoted" $word']],
  [`echo "back\\slash"`, ['echo', 'back\\slash']],
  ['a\\ b c', ['a b', 'c']],
  [`it''s "" ''`, ['its', '', '']],
  [`pre"mid"'post' x`, ['premidpost', 'x']],
  ['redis-server --save 60 1', ['redis-server', '--save', '60', '1']],
  ['a | b; c', ['a', '|', 'b;', 'c']],
  ['', []],
])('%j → %j', (text, words) => {
  expect(splitWords(text)).toEqual({ ok: true, words });
});

test.each([[`echo 'open`, 'single quote'], [`echo "open`, 'double quote'], ['trailing\\', 'backslash']])(
  '%j is refused (%s)',
  (text, reason) => {
    const r = splitWords(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(reason);
  },
);
