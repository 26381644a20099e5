import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { runInPage } from './playerPage.js';

// An accessibility scan with axe-core (Deque's rules engine), injected into the page as its own
// script: playwright-core has no axe binding, and the engine needs nothing but the page's DOM.

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** How bad axe judges a failure. */
export type AxeImpact = 'minor' | 'moderate' | 'serious' | 'critical';

/** One rule that failed, with the elements it failed on. */
export interface AxeViolation {
  id: string;
  impact: AxeImpact | null;
  help: string;
  helpUrl: string;
  nodes: { target: string[]; html: string; failureSummary: string }[];
}

/** What a scan found: rules failed, and rules axe could not decide (for a person to look at). */
export interface AxeScan {
  name: string;
  url: string;
  violations: AxeViolation[];
  incomplete: { id: string; impact: AxeImpact | null; targets: string[] }[];
  /** Violations counted by impact. */
  counts: Record<AxeImpact, number>;
}

/**
 * Runs axe-core on `page` (WCAG 2.x A and AA rules and axe's best practices), writes the result to
 * `<artifacts>/axe-<name>.json` and returns it.
 */
export async function axeScan(page: Page, name: string, artifacts: string): Promise<AxeScan> {
  if (!(await runInPage<boolean>(page, "() => typeof window.axe === 'object'"))) {
    await page.addScriptTag({ content: axeSource });
  }
  const raw = await runInPage<Pick<AxeScan, 'violations'> & { incomplete: AxeViolation[]; url: string }>(
    page,
    `async () => {
      const result = await window.axe.run(document, {
        runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
        resultTypes: ['violations', 'incomplete'],
      });
      const rule = (r) => ({
        id: r.id, impact: r.impact ?? null, help: r.help, helpUrl: r.helpUrl,
        nodes: r.nodes.map((n) => ({ target: n.target.map(String), html: n.html, failureSummary: n.failureSummary ?? '' })),
      });
      return { url: result.url, violations: result.violations.map(rule), incomplete: result.incomplete.map(rule) };
    }`,
  );
  const counts: Record<AxeImpact, number> = { minor: 0, moderate: 0, serious: 0, critical: 0 };
  for (const violation of raw.violations) if (violation.impact !== null) counts[violation.impact]++;
  const scan: AxeScan = {
    name,
    url: raw.url,
    violations: raw.violations,
    incomplete: raw.incomplete.map((r) => ({
      id: r.id,
      impact: r.impact,
      targets: r.nodes.map((node) => node.target.join(' ')),
    })),
    counts,
  };
  writeFileSync(join(artifacts, `axe-${name}.json`), `${JSON.stringify(scan, null, 2)}\n`);
  return scan;
}

/** The serious and critical violations of a scan, one line each (rule, impact, first elements). */
export function seriousViolations(scan: AxeScan): string[] {
  return scan.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map(
      (violation) =>
        `${violation.id} (${violation.impact}): ${violation.help} at ${violation.nodes
          .slice(0, 3)
          .map((node) => node.target.join(' '))
          .join(', ')}`,
    );
}
