import { FarplayError } from '../../protocol/errors.js';

/** GETs `path` from the matchmaker as JSON; an unreachable matchmaker or an error answer is OPERATOR_MATCHMAKER_UNREACHABLE. */
export async function fetchMatchmakerJson<T>(matchmakerUrl: string | undefined, path: string): Promise<T> {
  if (!matchmakerUrl) {
    throw new FarplayError(
      'OPERATOR_MATCHMAKER_UNREACHABLE',
      'no matchmaker configured: set matchmakerUrl in the config file (or FARPLAY_EDGE_MATCHMAKER_URL)',
    );
  }
  let response: Response;
  try {
    response = await fetch(new URL(path, matchmakerUrl), { signal: AbortSignal.timeout(5000) });
  } catch (cause) {
    throw new FarplayError(
      'OPERATOR_MATCHMAKER_UNREACHABLE',
      `the matchmaker ${matchmakerUrl} did not answer`,
      { cause },
    );
  }
  if (!response.ok) {
    throw new FarplayError(
      'OPERATOR_MATCHMAKER_UNREACHABLE',
      `the matchmaker answered ${path} with HTTP ${response.status}`,
    );
  }
  return (await response.json()) as T;
}
