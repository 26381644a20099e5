import { type ErrorCode, ErrorCodes, FarplayError } from './errors.js';
import type { SignedQosReport } from './qosReport.js';

/**
 * Posts one signed QoS report to a checker (`POST /v1/sessions/:id/reports`), from Node or a browser. An error
 * answer becomes a FarplayError with the checker's code; an unreachable checker is `INTERNAL` with the cause.
 */
export async function postQosReport(
  checkerUrl: string,
  report: SignedQosReport,
  timeoutMs = 5000,
): Promise<unknown> {
  const url = `${checkerUrl.replace(/\/$/, '')}/v1/sessions/${report.link.report.sessionId}/reports`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      body: JSON.stringify(report),
      headers: { 'content-type': 'application/json' },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (cause) {
    throw new FarplayError('INTERNAL', `checker ${checkerUrl} unreachable`, { cause });
  }
  const json = (await res.json().catch(() => ({}))) as { code?: string; message?: string; details?: unknown };
  if (!res.ok) {
    const code = (json.code !== undefined && json.code in ErrorCodes ? json.code : 'INTERNAL') as ErrorCode;
    throw new FarplayError(code, json.message, { details: json.details });
  }
  return json;
}
