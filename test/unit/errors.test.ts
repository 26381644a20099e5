import { describe, expect, it } from 'vitest';
import { ErrorCodes, FarplayError, findError } from '../../protocol/errors.js';

describe('FarplayError', () => {
  it('carries a stable code, its HTTP status and a wire body', () => {
    const error = new FarplayError('RATE_LIMITED', undefined, { details: { retryAfterMs: 500 } });
    expect(error.status).toBe(429);
    expect(error.toBody()).toEqual({
      code: 'RATE_LIMITED',
      message: ErrorCodes.RATE_LIMITED.message,
      details: { retryAfterMs: 500 },
    });
  });

  it('is found through a cause chain by code', () => {
    const inner = new FarplayError('BAD_REQUEST', 'offer is not SDP');
    const outer = new Error('signalling failed', { cause: new Error('wrapped', { cause: inner }) });
    expect(findError(outer, 'BAD_REQUEST')).toBe(inner);
    expect(findError(outer, 'NOT_FOUND')).toBeUndefined();
  });
});

describe('docs/errors.md', () => {
  it('lists every code of the catalogue (regenerate with `npx tsx scripts/errorDocs.ts`)', async () => {
    const { readFileSync } = await import('node:fs');
    const { renderErrorDocs } = await import('../../scripts/errorDocs.js');
    expect(readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8')).toBe(renderErrorDocs());
  });
});
