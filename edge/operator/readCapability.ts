import { existsSync, readFileSync } from 'node:fs';
import { Value } from 'typebox/value';
import { SignedCapabilitySnapshot } from '../../protocol/capabilitySnapshot.js';
import { FarplayError } from '../../protocol/errors.js';

/**
 * The signed capability snapshot at `file` (written by `farplay-edge bench`) as `{ capability }`, or `{}`
 * when no file is configured or it does not exist yet. A file that is there but malformed stops start-up.
 */
export function readCapability(file: string | undefined): { capability?: SignedCapabilitySnapshot } {
  if (!file || !existsSync(file)) return {};
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new FarplayError('OPERATOR_BAD_CAPABILITY', `${file} is not JSON`, { cause });
  }
  if (!Value.Check(SignedCapabilitySnapshot, value)) {
    throw new FarplayError('OPERATOR_BAD_CAPABILITY', `${file} is not a signed capability snapshot`);
  }
  return { capability: value };
}
