import type { Address } from 'viem';
import type { CreateSessionResponse } from '../../protocol/playerApi.js';
import type { QosReportSigner } from '../../protocol/QosReportChain.js';
import { BilledPlay } from './BilledPlay.js';
import { el } from './el.js';
import { formatAth } from './formatAth.js';
import type { PageWallet } from './PageWallet.js';
import { preparePayment } from './preparePayment.js';

interface Verdict {
  minute: number;
  billable: boolean;
  reasons: string[];
}

/**
 * The page's money, in the play view's `account` and `bill` slots: the wallet (ATH available in escrow), and while a
 * billed session plays, the live bill — minutes played and billed, price, ATH spent, deposit left — with a
 * per-minute timeline of the checkers' verdicts and their reasons, linked to the evidence.
 */
export class BillingView {
  readonly #apiBase: string;
  readonly #account: HTMLElement | null;
  readonly #bill: HTMLElement | null;
  #wallet: PageWallet | undefined;
  #available = 0n;
  #play: BilledPlay | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(apiBase: string, root: HTMLElement) {
    this.#apiBase = apiBase;
    this.#account = root.querySelector<HTMLElement>('[data-slot="account"]');
    this.#bill = root.querySelector<HTMLElement>('[data-slot="bill"]');
  }

  #say(text: string): void {
    if (this.#account === null) return;
    this.#account.hidden = false;
    this.#account.textContent = text;
  }

  /** Readies the wallet on a billed network; the payer address for the session request, or undefined. */
  async prepare(): Promise<Address | undefined> {
    if (this.#wallet !== undefined) return this.#wallet.address;
    try {
      const ready = await preparePayment(this.#apiBase, (m) => this.#say(m));
      if (ready === undefined) return undefined;
      this.#wallet = ready.wallet;
      this.#available = (await ready.wallet.balances()).available;
      return ready.wallet.address;
    } catch (error) {
      this.#say(`Wallet: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    }
  }

  /** A billed session: signs its grant (no prompt with the local wallet) and starts the live bill. */
  async begin(
    session: CreateSessionResponse,
    sessionKey: QosReportSigner & { address: Address },
  ): Promise<void> {
    await this.#play?.close();
    this.#play = undefined;
    const billing = session.billing;
    if (billing === undefined || this.#wallet === undefined || this.#closed) return;
    this.#play = await BilledPlay.open({
      apiBase: this.#apiBase,
      sessionId: session.sessionId,
      billing,
      wallet: this.#wallet,
      sessionKey,
    });
    clearInterval(this.#timer);
    this.#timer = setInterval(() => void this.#refresh(), Math.max(1000, billing.periodMs / 2));
  }

  /** The stream's peer connection (the page's QoS reports read its getStats). */
  attach(pc: RTCPeerConnection): void {
    this.#play?.attach(pc);
  }

  /** A frame was shown (glass-to-glass ms when known). */
  frameShown(glassToGlassMs?: number): void {
    this.#play?.frameShown(glassToGlassMs);
  }

  async #refresh(): Promise<void> {
    const play = this.#play;
    const bill = this.#bill;
    if (play === undefined || bill === null) return;
    const { billing } = play;
    const checker = billing.checkers[0] ?? '';
    const evidenceUrl = `${checker}/v1/sessions/${billing.sessionId}/evidence`;
    const evidence = (await fetch(evidenceUrl)
      .then((r) => (r.ok ? r.json() : undefined))
      .catch(() => undefined)) as { verdicts: Verdict[]; billableMinutes: number } | undefined;
    if (evidence === undefined || play !== this.#play) return;
    const price = BigInt(billing.pricePerMinute);
    const spent = price * BigInt(evidence.billableMinutes);
    const left = this.#available > spent ? this.#available - spent : 0n;
    const timeline = el(
      'ol',
      { class: 'verdicts', 'aria-label': 'Minute by minute' },
      ...evidence.verdicts
        .sort((a, b) => a.minute - b.minute)
        .map((v) =>
          el(
            'li',
            { 'data-billable': String(v.billable) },
            `${v.minute + 1}: ${v.billable ? 'billed' : `not billed (${v.reasons.join(', ')})`}`,
          ),
        ),
    );
    bill.hidden = false;
    bill.replaceChildren(
      el(
        'p',
        {},
        `Minutes played ${play.periods} · billed ${evidence.billableMinutes} · ${formatAth(price)} ATH/min · ` +
          `spent ${formatAth(spent)} ATH · deposit left ${formatAth(left)} ATH`,
      ),
      timeline,
      el('a', { href: evidenceUrl, target: '_blank', rel: 'noopener' }, 'Evidence'),
    );
  }

  /** Stops the bill and the reports' period clock (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    void this.#play?.close();
  }
}
