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

describe('toFarplayError: every answer carries a catalogue code', () => {
  it('maps framework errors by status and keeps FarplayErrors found in the cause chain', async () => {
    const { FarplayError, toFarplayError, toErrorBody } = await import('../../protocol/errors.js');
    expect(toFarplayError({ statusCode: 404, message: 'Route GET:/x not found' }).code).toBe('NOT_FOUND');
    expect(toFarplayError({ validation: [{}], statusCode: 400, message: 'body/x' }).code).toBe('BAD_REQUEST');
    expect(toFarplayError({ code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 }).code).toBe(
      'PAYLOAD_TOO_LARGE',
    );
    expect(toFarplayError({ statusCode: 429 }).code).toBe('RATE_LIMITED');
    expect(toFarplayError({ statusCode: 415, message: 'bad type' }).code).toBe('BAD_REQUEST');
    expect(toFarplayError(new Error('disk on fire')).code).toBe('INTERNAL');
    expect(toErrorBody(new Error('disk on fire')).message).not.toMatch(/disk/);
    const wrapped = new Error('outer', { cause: new FarplayError('EDGE_FULL') });
    expect(toFarplayError(wrapped).code).toBe('EDGE_FULL');
  });
});
