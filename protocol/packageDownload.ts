import { type Address, type Hex, type LocalAccount, recoverTypedDataAddress } from 'viem';
import { edgeControlDomain } from './edgeRegistration.js';
import { FarplayError } from './errors.js';

/**
 * Who may download a game package (GET /v1/packages/:sha256): a registered edge, with the header
 * `x-farplay-edge-auth: <edge address>.<issuedAt ms>.<signature>` — an EIP-712 `PackageDownload` over the
 * sha256, signed by its node key for the matchmaker's deployment (the edge control domain) — or a player with
 * `Authorization: Bearer <session token>` of a game served from that package. Anyone else:
 * `MM_PACKAGE_FORBIDDEN`.
 */
export const PACKAGE_AUTH_HEADER = 'x-farplay-edge-auth';

const packageDownloadTypes = {
  PackageDownload: [
    { name: 'edge', type: 'address' },
    { name: 'sha256', type: 'string' },
    { name: 'issuedAt', type: 'uint64' },
  ],
} as const;

function typedData(deployment: string, edge: string, sha256: string, issuedAt: number) {
  return {
    domain: edgeControlDomain(deployment),
    types: packageDownloadTypes,
    primaryType: 'PackageDownload',
    message: { edge: edge as Address, sha256, issuedAt: BigInt(issuedAt) },
  } as const;
}

/** The `x-farplay-edge-auth` header value for downloading `sha256` from `deployment`. */
export async function signPackageDownload(
  account: LocalAccount,
  deployment: string,
  sha256: string,
  issuedAt = Date.now(),
): Promise<string> {
  const signature = await account.signTypedData(typedData(deployment, account.address, sha256, issuedAt));
  return `${account.address}.${issuedAt}.${signature}`;
}

export interface VerifyPackageDownloadParameters {
  header: string;
  sha256: string;
  deployment: string;
  /** Largest age (and future skew) accepted, ms. */
  maxAgeMs: number;
  now?: number;
}

/**
 * Checks an `x-farplay-edge-auth` header and returns the (lower-case) edge address that signed it. Throws
 * `MM_PACKAGE_FORBIDDEN` (malformed, another package or deployment, not signed by the edge it names) or
 * `MM_STALE_MESSAGE`.
 */
export async function verifyPackageDownload(parameters: VerifyPackageDownloadParameters): Promise<string> {
  const match = /^(0x[0-9a-fA-F]{40})\.([0-9]{1,16})\.(0x[0-9a-fA-F]{130})$/.exec(parameters.header);
  if (!match) throw new FarplayError('MM_PACKAGE_FORBIDDEN', `${PACKAGE_AUTH_HEADER} is malformed`);
  const [, edge, at, signature] = match as unknown as [string, string, string, Hex];
  const issuedAt = Number(at);
  const now = parameters.now ?? Date.now();
  if (Math.abs(now - issuedAt) > parameters.maxAgeMs) {
    throw new FarplayError('MM_STALE_MESSAGE', 'the package download request is too old or in the future');
  }
  const recovered = await recoverTypedDataAddress({
    ...typedData(parameters.deployment, edge, parameters.sha256, issuedAt),
    signature,
  }).catch(() => undefined);
  if (recovered?.toLowerCase() !== edge.toLowerCase()) {
    throw new FarplayError(
      'MM_PACKAGE_FORBIDDEN',
      'the download is not signed by the edge it names for this package and deployment',
    );
  }
  return edge.toLowerCase();
}
