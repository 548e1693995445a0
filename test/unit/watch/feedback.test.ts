import { describe, expect, test } from 'vitest';
import { FEEDBACK_STREAK, FEEDBACK_WINDOW_MS, FeedbackGuard } from '../../../src/watch/feedback.js';

const files = (...f: string[]) => new Set(f);

describe('feedback guard', () => {
  test('a service writing its own log right after each restart gets the rule suspended, then resumed by another file', () => {
    const g = new FeedbackGuard();
    let t = 0;
    expect(g.judge(files('main.py'), t, true)).toEqual({ kind: 'act', resumed: false });
    for (let i = 0; i < FEEDBACK_STREAK; i++) {
      g.restarted(files('main.py', 'app.log'), (t += 100));
      const v = g.judge(files('app.log'), (t += 50), true);
      expect(v.kind).toBe(i === FEEDBACK_STREAK - 1 ? 'suspend' : 'act');
    }
    expect(g.judge(files('app.log'), (t += 50), true)).toEqual({ kind: 'drop' });
    expect(g.judge(files('main.py'), (t += 5000), true)).toEqual({ kind: 'act', resumed: true });
  });

  test('a person saving the same file again and again is never taken for a loop', () => {
    const g = new FeedbackGuard();
    let t = 0;
    for (let i = 0; i < 10; i++) {
      expect(g.judge(files('server.js'), t, true).kind).toBe('act');
      g.restarted(files('server.js'), (t += 80));
      t += FEEDBACK_WINDOW_MS + 200; // the next save
    }
  });

  test('a rule that does not restart never counts a streak', () => {
    const g = new FeedbackGuard();
    for (let t = 0; t < 10; t++) expect(g.judge(files('a'), t, false).kind).toBe('act');
  });
});
