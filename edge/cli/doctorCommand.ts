import { parseArgs } from 'node:util';
import { type DoctorCheck, runDoctor } from '../operator/runDoctor.js';
import type { CliContext } from './CliContext.js';
import { loadCliConfig } from './loadCliConfig.js';

/** Formats one doctor check as the operator sees it: `✓ detail` or `✗ detail` and an indented `fix:` line. */
export function formatCheck(check: DoctorCheck): string[] {
  const lines = [
    `${check.ok ? '✓' : '✗'} ${check.detail}${!check.ok && !check.required ? ' (optional)' : ''}`,
  ];
  if (!check.ok && check.fix) lines.push(`    fix: ${check.fix}`);
  return lines;
}

/** `farplay-edge doctor`: one line per check; exit 1 when a required check fails. */
export async function doctorCommand(context: CliContext): Promise<number> {
  const { values } = parseArgs({
    args: context.args,
    options: { config: { type: 'string' }, 'min-free-gb': { type: 'string' } },
    strict: true,
  });
  const config = loadCliConfig(values.config, context.env);
  const minFree = values['min-free-gb'] === undefined ? undefined : Number(values['min-free-gb']) * 2 ** 30;
  const checks = await runDoctor({
    config,
    ...(context.env.PATH !== undefined ? { path: context.env.PATH } : {}),
    ...(minFree !== undefined ? { minFreeBytes: minFree } : {}),
    onCheck: (check) => {
      for (const line of formatCheck(check)) context.output.out(line);
    },
  });
  const failed = checks.filter((check) => !check.ok && check.required);
  const optional = checks.filter((check) => !check.ok && !check.required);
  context.output.out(
    failed.length === 0
      ? `ready: ${checks.length - optional.length} checks passed${optional.length ? `, ${optional.length} optional failed` : ''}`
      : `not ready: ${failed.length} required check${failed.length === 1 ? '' : 's'} failed`,
  );
  return failed.length === 0 ? 0 : 1;
}
