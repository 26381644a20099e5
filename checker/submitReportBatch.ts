import type { FastifyBaseLogger } from 'fastify';
import { Compile } from 'typebox/compile';
import type { Hex } from 'viem';
import { FarplayError, toFarplayError } from '../protocol/errors.js';
import { SignedQosReport } from '../protocol/qosReport.js';
import type { Checker } from './Checker.js';
import { serializeReportAccepted } from './serializeReportAccepted.js';

/** The single route's body schema, compiled once: each batch item is held to it on its own. */
const signedReport = Compile(SignedQosReport);

/**
 * Takes a batch of signed reports (`POST /v1/reports/batch`), each for the session it names, one after the other in
 * the batch's order (a session's chain must arrive in order): every item goes through the same schema and the same
 * `Checker.submitReport` checks as the single route, and gets the same answer or the same catalogue error. A bad
 * item is refused alone. Returns the answer as JSON: `{ results: [{ accepted } | { error }] }`, one per item.
 */
export async function submitReportBatch(
  checker: Checker,
  items: readonly unknown[],
  log: FastifyBaseLogger,
): Promise<string> {
  const parts: string[] = [];
  for (const item of items) {
    try {
      if (!signedReport.Check(item)) {
        const first = signedReport.Errors(item)[0];
        throw new FarplayError(
          'BAD_REQUEST',
          first ? `${first.instancePath || '/'} ${first.message}` : undefined,
        );
      }
      const signed = item as SignedQosReport;
      const result = await checker.submitReport(signed.link.report.sessionId as Hex, signed);
      parts.push(`{"accepted":${serializeReportAccepted(result)}}`);
    } catch (error) {
      const farplay = toFarplayError(error);
      if (farplay.code === 'INTERNAL') log.error({ err: error }, 'batch report failed');
      parts.push(`{"error":${JSON.stringify(farplay.toBody())}}`);
    }
  }
  return `{"results":[${parts.join(',')}]}`;
}
