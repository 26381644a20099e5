import { expect } from 'vitest';
import { type ErrorCode, FarplayError } from '../../protocol/errors.js';

/** Awaits `promise` and expects it to fail with the catalogue error `code`; returns that error. */
export async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<FarplayError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected ${code}`).toBeInstanceOf(FarplayError);
  expect((error as FarplayError).code).toBe(code);
  return error as FarplayError;
}
