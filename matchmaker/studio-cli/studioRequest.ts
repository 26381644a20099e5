import { type ErrorCode, ErrorCodes, FarplayError } from '../../protocol/errors.js';
import type { StudioConfig } from './StudioConfig.js';

/** Options of `studioRequest`. */
export interface StudioRequestOptions {
  method?: 'GET' | 'POST' | 'DELETE';
  /** JSON body. */
  body?: unknown;
}

/**
 * Calls the matchmaker's studio API with the config's key and returns the JSON answer. A refusal throws the
 * matchmaker's own error code and message (e.g. MM_FORBIDDEN); no answer is STUDIO_MATCHMAKER_UNREACHABLE.
 */
export async function studioRequest<T>(
  config: Pick<StudioConfig, 'matchmakerUrl' | 'apiKey'>,
  path: string,
  options: StudioRequestOptions = {},
): Promise<T> {
  let response: Response;
  try {
    response = await fetch(new URL(path, config.matchmakerUrl), {
      method: options.method ?? 'GET',
      headers: {
        authorization: `Bearer ${config.apiKey}`,
        ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (cause) {
    throw new FarplayError(
      'STUDIO_MATCHMAKER_UNREACHABLE',
      `the matchmaker ${config.matchmakerUrl} did not answer`,
      { cause },
    );
  }
  return readAnswer<T>(response);
}

/** The JSON of a matchmaker answer; a refusal becomes a FarplayError with the matchmaker's code. */
export async function readAnswer<T>(response: Response): Promise<T> {
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (response.ok) return body as T;
  throw refusal(response.status, body);
}

/** A matchmaker's error answer as a FarplayError (its code when the catalogue knows it). */
export function refusal(status: number, body: unknown): FarplayError {
  const { code, message, details } = (body ?? {}) as { code?: string; message?: string; details?: unknown };
  if (code && code in ErrorCodes) {
    return new FarplayError(code as ErrorCode, message, details === undefined ? {} : { details });
  }
  return new FarplayError('STUDIO_MATCHMAKER_UNREACHABLE', `the matchmaker answered HTTP ${status}`);
}
