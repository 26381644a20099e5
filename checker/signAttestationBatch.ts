import { type Address, type Hex, hashTypedData, hexToBytes, type TypedDataDomain } from 'viem';
import { type AttestationBatch, attestationBatchTypes } from '../protocol/eip712.js';
import { FarplayError } from '../protocol/errors.js';
import { signDigest } from './signDigest.js';
import type { CheckerStore } from './store/CheckerStore.js';

export interface SignAttestationBatchParameters {
  store: CheckerStore;
  /** The checker's key and address. */
  privateKey: Hex;
  checker: Address;
  /** The escrow's EIP-712 domain. */
  domain: TypedDataDomain;
  policyHash: Hex;
  /** The sessions of the batch, in the order the settlement sends them. */
  sessions: readonly { sessionId: Hex; minutes: number }[];
}

/** A checker's signature over one AttestationBatch (what `SessionEscrow.batchSettle` verifies). */
export interface SignedAttestationBatch {
  checker: Address;
  policyHash: Hex;
  sessions: { sessionId: Hex; grantHash: Hex; minutes: number }[];
  signature: Hex;
}

/**
 * Signs AttestationBatch(sessions, policyHash) for a settlement agent that settles many sessions in one
 * transaction: only when, for every session, this checker has itself attested at least that many cumulative
 * minutes (its signature then says nothing it has not already said one session at a time). The grant of each
 * session is the one it was opened with here. CHECKER_UNKNOWN_SESSION / CHECKER_NOT_ATTESTED otherwise.
 */
export async function signAttestationBatch(
  p: SignAttestationBatchParameters,
): Promise<SignedAttestationBatch> {
  const sessions: SignedAttestationBatch['sessions'] = [];
  for (const s of p.sessions) {
    const stored = await p.store.getSession(s.sessionId);
    if (stored === null)
      throw new FarplayError('CHECKER_UNKNOWN_SESSION', undefined, { details: { sessionId: s.sessionId } });
    if (s.minutes < 1 || s.minutes > stored.billableMinutes) {
      throw new FarplayError('CHECKER_NOT_ATTESTED', undefined, {
        details: { sessionId: s.sessionId, asked: s.minutes, attested: stored.billableMinutes },
      });
    }
    sessions.push({
      sessionId: stored.record.sessionId,
      grantHash: stored.record.grantHash,
      minutes: s.minutes,
    });
  }
  const batch: AttestationBatch = { sessions, policyHash: p.policyHash };
  const digest = hashTypedData({
    domain: p.domain,
    types: attestationBatchTypes,
    primaryType: 'AttestationBatch',
    message: batch,
  });
  return {
    checker: p.checker,
    policyHash: p.policyHash,
    sessions,
    signature: signDigest(hexToBytes(p.privateKey), hexToBytes(digest)),
  };
}
