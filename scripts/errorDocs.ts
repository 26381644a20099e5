// Writes docs/errors.md from protocol/errors.ts (`npx tsx scripts/errorDocs.ts`); a unit test fails
// when the committed file drifts from the catalogue.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes } from '../protocol/errors.js';
import { repoRoot } from './buildPlayer.js';

/** The markdown listing every error code, its HTTP status and meaning. */
export function renderErrorDocs(): string {
  const rows = Object.entries(ErrorCodes).map(
    ([code, { status, message }]) => `| \`${code}\` | ${status} | ${message.replaceAll('|', '\\|')} |`,
  );
  return [
    '# Error codes',
    '',
    'Every error Farplay sends over HTTP or WebSocket carries one of these stable codes (`{ code, message }`);',
    'WebSocket close codes of the edge are in `protocol/signaling.ts`. Generated from `protocol/errors.ts`',
    'by `npx tsx scripts/errorDocs.ts`.',
    '',
    '| code | HTTP status | meaning |',
    '| --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

if (process.argv[1]?.endsWith('errorDocs.ts')) {
  writeFileSync(join(repoRoot, 'docs', 'errors.md'), renderErrorDocs());
}
