import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// Issue 8: catalogue titles and descriptions come from studios and edges; the page must show them as text.
// No source file of the page may parse strings as HTML.
const dir = join(import.meta.dirname, '../../player/src');

describe('the player page renders what the matchmaker sends as text', () => {
  it('never uses innerHTML, outerHTML, insertAdjacentHTML, document.write or createContextualFragment', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(10);
    const offenders = files.filter((f) =>
      /\.(innerHTML|outerHTML)\b|insertAdjacentHTML|document\.write|createContextualFragment|DOMParser/.test(
        readFileSync(join(dir, f), 'utf8'),
      ),
    );
    expect(offenders).toEqual([]);
  });
});
