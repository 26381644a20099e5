import { QosRole } from '../protocol/eip712.js';
import { FarplayError } from '../protocol/errors.js';
import { hashQosLink, typedDigest } from '../protocol/hashQosLink.js';
import type { QosPolicy } from '../protocol/qosPolicy.js';
import type { SignedQosReport } from '../protocol/qosReport.js';
import { recoverAddress } from '../protocol/recoverAddress.js';
import type { OpenSession } from './checkerTypes.js';

/**
 * The checks of one side's signed report that need no store: the minute is within the grant
 * (`CHECKER_BEYOND_GRANT`) and has closed by the checker's clock (`CHECKER_EARLY`), the link signature recovers to
 * the session's signer of that side, and an edge's bare report signature too (`CHECKER_BAD_SIGNATURE`; high-s or a
 * missing report signature: `CHECKER_BAD_REPORT`). Returns the link's hashes (what the chain and the store keep).
 */
export function verifyReport(
  session: OpenSession,
  signed: SignedQosReport,
  c: { policy: QosPolicy; now: number; stakingSeparator: Uint8Array },
): { link: Uint8Array; report: Uint8Array } {
  const { link } = signed;
  const { report } = link;
  const role = report.role;
  const skew = c.policy.maxClockSkewMs;
  if (report.minute >= session.grant.maxMinutes) {
    throw new FarplayError('CHECKER_BEYOND_GRANT', undefined, {
      details: { minute: report.minute, maxMinutes: session.grant.maxMinutes },
    });
  }
  const closesAt = session.record.openedAt + (report.minute + 1) * c.policy.periodMs;
  if (c.now < closesAt - skew || link.closedAt > c.now + skew) {
    throw new FarplayError('CHECKER_EARLY', undefined, { details: { minute: report.minute, closesAt } });
  }

  const hashes = hashQosLink(link);
  const expected = session.signers[role];
  const linkSigner = recoverAddress(typedDigest(c.stakingSeparator, hashes.link), signed.linkSignature);
  if (linkSigner === 'malleable') throw new FarplayError('CHECKER_BAD_REPORT', 'high-s link signature');
  if (linkSigner !== expected) {
    throw new FarplayError('CHECKER_BAD_SIGNATURE', undefined, {
      details: { role: role === QosRole.edge ? 'edge' : 'player' },
    });
  }
  if (role === QosRole.edge) {
    if (signed.reportSignature === undefined) {
      throw new FarplayError(
        'CHECKER_BAD_REPORT',
        'an edge report needs reportSignature over the bare QosReport',
      );
    }
    const reportSigner = recoverAddress(
      typedDigest(c.stakingSeparator, hashes.report),
      signed.reportSignature,
    );
    if (reportSigner === 'malleable') throw new FarplayError('CHECKER_BAD_REPORT', 'high-s report signature');
    if (reportSigner !== expected) {
      throw new FarplayError('CHECKER_BAD_SIGNATURE', undefined, {
        details: { role: 'edge', part: 'report' },
      });
    }
  }
  return hashes;
}
