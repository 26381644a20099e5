import type { Address } from 'viem';
import type { SessionBilling } from '../../protocol/billingSession.js';
import type { QosReportSigner } from '../../protocol/QosReportChain.js';
import type { SignedQosReport } from '../../protocol/qosReport.js';
import { grantFor } from './grantFor.js';
import type { PageWallet } from './PageWallet.js';
import { postGrant } from './postGrant.js';
import { QosReporter } from './QosReporter.js';

/**
 * One billed session in the page: the grant signed once (before the stream), the session opened at its checkers,
 * then the page's per-period QoS reports from the first decoded frame on.
 */
export class BilledPlay {
  readonly billing: SessionBilling;
  readonly #signer: QosReportSigner;
  readonly #onReport: ((report: SignedQosReport) => void) | undefined;
  #reporter: QosReporter | undefined;

  private constructor(
    billing: SessionBilling,
    signer: QosReportSigner,
    onReport?: (r: SignedQosReport) => void,
  ) {
    this.billing = billing;
    this.#signer = signer;
    this.#onReport = onReport;
  }

  /** Signs the session's grant with the wallet (naming the session key); the matchmaker checks it and opens it. */
  static async open(o: {
    apiBase: string;
    sessionId: string;
    billing: SessionBilling;
    wallet: PageWallet;
    sessionKey: QosReportSigner & { address: Address };
    onReport?: (report: SignedQosReport) => void;
  }): Promise<BilledPlay> {
    const grant = grantFor(o.billing, o.wallet.address, o.sessionKey.address);
    await postGrant(o.apiBase, o.sessionId, grant, await o.wallet.signGrant(grant));
    return new BilledPlay(o.billing, o.sessionKey, o.onReport);
  }

  /** The stream's peer connection (a reconnect gives a new one: reports continue on the same chain only per session). */
  attach(pc: RTCPeerConnection): void {
    if (this.#reporter !== undefined) return;
    this.#reporter = new QosReporter({
      billing: this.billing,
      signer: this.#signer,
      pc,
      ...(this.#onReport ? { onReport: this.#onReport } : {}),
    });
  }

  /** A frame was shown (with its glass-to-glass time when known): the first one starts the period clock. */
  frameShown(glassToGlassMs?: number): void {
    const r = this.#reporter;
    if (r === undefined) return;
    void r.start();
    if (glassToGlassMs !== undefined) r.stats.recordGlass(glassToGlassMs);
  }

  /** Periods reported so far. */
  get periods(): number {
    return this.#reporter?.periods ?? 0;
  }

  /** Stops the period clock; what is queued still goes out. */
  async close(): Promise<void> {
    await this.#reporter?.close();
  }
}
