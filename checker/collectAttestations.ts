import type { Address, Hex } from 'viem';
import { recoverAttestationSigner } from '../contracts-client/src/escrow.js';
import type { SignedAttestationRecord } from './Checker.js';
import type { CheckerClient } from './client/CheckerClient.js';

export interface CollectAttestationsParameters {
  checkers: readonly CheckerClient[];
  sessionId: Hex;
  /** Signatures needed (the escrow's quorum). */
  quorum: number;
  /** The escrow the attestations are for (their EIP-712 domain). */
  escrow: { chainId: number; address: Address };
}

/** A quorum of attestations over the same cumulative minutes: what `settle` takes. */
export interface CollectedAttestations {
  minutes: number;
  grantHash: Hex;
  policyHash: Hex;
  attestations: { signer: Address; signature: Hex }[];
}

/**
 * Collects, from the session's checkers, the highest cumulative minutes that at least `quorum` of them have
 * signed (each checker signs every count it reaches, so any count up to the quorum-th highest is signed by a
 * quorum). Checkers that are down or answer nothing are skipped; every signature is verified before it is used.
 * Returns null when no quorum exists yet.
 */
export async function collectAttestations(
  p: CollectAttestationsParameters,
): Promise<CollectedAttestations | null> {
  const latest = await Promise.all(p.checkers.map((c) => c.attestation(p.sessionId).catch(() => null)));
  const counts = latest
    .filter((a): a is SignedAttestationRecord => a !== null)
    .map((a) => a.minutes)
    .sort((a, b) => b - a);
  const minutes = counts[p.quorum - 1];
  if (minutes === undefined || minutes === 0) return null;
  const exact = await Promise.all(
    p.checkers.map((c, i) => {
      const a = latest[i];
      if (a === null || a === undefined || a.minutes < minutes) return null;
      return a.minutes === minutes ? a : c.attestation(p.sessionId, minutes).catch(() => null);
    }),
  );
  const out: CollectedAttestations['attestations'] = [];
  let grantHash: Hex | undefined;
  let policyHash: Hex | undefined;
  for (const a of exact) {
    if (a === null || out.length >= p.quorum) continue;
    if (grantHash !== undefined && (a.grantHash !== grantHash || a.policyHash !== policyHash)) continue;
    const signer = await recoverAttestationSigner(
      p.escrow,
      { sessionId: p.sessionId, grantHash: a.grantHash, minutes, policyHash: a.policyHash },
      a.signature,
    );
    if (signer === undefined || signer.toLowerCase() !== a.checker.toLowerCase()) continue;
    grantHash = a.grantHash;
    policyHash = a.policyHash;
    out.push({ signer, signature: a.signature });
  }
  if (out.length < p.quorum || grantHash === undefined || policyHash === undefined) return null;
  return { minutes, grantHash, policyHash, attestations: out };
}
