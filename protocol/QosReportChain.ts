import type { Hex, LocalAccount, TypedDataDomain } from 'viem';
import {
  type QosDetail,
  type QosLink,
  type QosMetrics,
  type QosReport,
  QosRole,
  qosLinkTypes,
  qosReportTypes,
} from './eip712.js';
import { bytesHex, hashQosLink } from './hashQosLink.js';
import type { SignedQosReport } from './qosReport.js';

/** What signs the reports: a viem LocalAccount (edge node key, or the page's session key) or anything alike. */
export type QosReportSigner = Pick<LocalAccount, 'signTypedData'>;

export interface QosReportChainParameters {
  sessionId: Hex;
  role: QosRole;
  signer: QosReportSigner;
  /** The StakingRegistry's domain (protocol/eip712.ts `stakingDomain`). */
  domain: TypedDataDomain;
}

/** Fields a side does not measure are 0. */
export const EMPTY_DETAIL: QosDetail = Object.freeze({
  targetFps: 0,
  framesEncoded: 0,
  framesDropped: 0,
  encodeP99Us: 0,
  nackCount: 0,
  pliCount: 0,
  keyframes: 0,
  freezeCount: 0,
  jitterBufferMs: 0,
  glassP50Ms: 0,
  glassP99Ms: 0,
  glassSamples: 0,
});

/**
 * One side's chain of signed per-minute reports for one session: each link carries the hash of the previous one
 * (zero for the first). The edge also signs the bare QosReport (slashing evidence). Send each result to every
 * checker of the session, in order; on CHECKER_CHAIN_BROKEN resend the missing links first.
 */
export class QosReportChain {
  readonly #p: QosReportChainParameters;
  #prev: Hex = `0x${'0'.repeat(64)}`;
  readonly #sent: SignedQosReport[] = [];

  constructor(p: QosReportChainParameters) {
    this.#p = p;
  }

  /** The hash the next link will carry as `prev`. */
  get head(): Hex {
    return this.#prev;
  }

  /** Reports signed so far, oldest first (for resending what a checker missed). */
  get sent(): readonly SignedQosReport[] {
    return this.#sent;
  }

  /** Signs the report of `minute` (closed at `closedAt`, unix ms) and moves the chain on. */
  async next(
    minute: number,
    metrics: QosMetrics,
    detail: Partial<QosDetail>,
    closedAt: number,
  ): Promise<SignedQosReport> {
    const report: QosReport = { sessionId: this.#p.sessionId, minute, role: this.#p.role, metrics };
    const link: QosLink = { report, prev: this.#prev, closedAt, detail: { ...EMPTY_DETAIL, ...detail } };
    const { domain, signer } = this.#p;
    const linkSignature = await signer.signTypedData({
      domain,
      types: qosLinkTypes,
      primaryType: 'QosLink',
      message: { ...link, closedAt: BigInt(closedAt) },
    });
    const signed: SignedQosReport = { link, linkSignature };
    if (this.#p.role === QosRole.edge) {
      signed.reportSignature = await signer.signTypedData({
        domain,
        types: qosReportTypes,
        primaryType: 'QosReport',
        message: { ...report },
      });
    }
    this.#prev = bytesHex(hashQosLink(link).link);
    this.#sent.push(signed);
    return signed;
  }
}
