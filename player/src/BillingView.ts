import type { Address } from 'viem';
import type { CreateSessionResponse } from '../../protocol/playerApi.js';
import type { QosReportSigner } from '../../protocol/QosReportChain.js';
import { BilledPlay } from './BilledPlay.js';
import {
  connectPageWallet,
  depositWithProgress,
  type NetworkBillingInfo,
  topUpLocal,
} from './connectPageWallet.js';
import { el } from './el.js';
import { formatAth } from './formatAth.js';
import type { PageWallet } from './PageWallet.js';

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
  #network: NetworkBillingInfo | undefined;
  #available = 0n;
  #play: BilledPlay | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(apiBase: string, root: HTMLElement) {
    this.#apiBase = apiBase;
    this.#account = root.querySelector<HTMLElement>('[data-slot="account"]');
    this.#bill = root.querySelector<HTMLElement>('[data-slot="bill"]');
  }

  /** The account slot: which wallet pays, its balances, a Deposit button, and the last progress or error. */
  #say(text: string, error = false): void {
    const slot = this.#account;
    if (slot === null) return;
    slot.hidden = false;
    const wallet = this.#wallet;
    const status = el(
      'span',
      { class: error ? 'wallet-status error' : 'wallet-status', role: 'status' },
      text,
    );
    if (wallet === undefined) {
      slot.replaceChildren(status);
      return;
    }
    const kind = wallet.kind === 'injected' ? 'Injected wallet' : 'Local wallet';
    const deposit = el('button', { type: 'button', class: 'wallet-deposit' }, 'Deposit 10 ATH');
    deposit.addEventListener('click', () => void this.#deposit());
    slot.replaceChildren(
      el('span', { class: 'wallet-kind', 'data-kind': wallet.kind }, kind),
      ` ${wallet.address.slice(0, 10)}… `,
      deposit,
      status,
    );
  }

  async #showBalances(): Promise<void> {
    const wallet = this.#wallet;
    if (wallet === undefined) return;
    const b = await wallet.balances();
    this.#available = b.available;
    this.#say(`${formatAth(b.ath)} ATH in the wallet, ${formatAth(b.available)} ATH available in escrow`);
  }

  async #deposit(): Promise<void> {
    const wallet = this.#wallet;
    if (wallet === undefined) return;
    try {
      await depositWithProgress(wallet, (m) => this.#say(m));
      await this.#showBalances();
    } catch (error) {
      this.#say(error instanceof Error ? error.message : String(error), true);
    }
  }

  /**
   * Readies the wallet on a billed network (injected where the browser has one, else local; topped up from the
   * faucet on local chains); the payer address for the session request, or undefined when unbilled.
   */
  async prepare(): Promise<Address | undefined> {
    try {
      if (this.#wallet === undefined) {
        const ready = await connectPageWallet(this.#apiBase);
        if (ready === undefined) return undefined;
        this.#wallet = ready.wallet;
        this.#network = ready.network;
      }
      if (this.#network !== undefined)
        await topUpLocal(this.#wallet, this.#network, this.#apiBase, (m) => this.#say(m));
      await this.#showBalances();
    } catch (error) {
      this.#say(`Wallet: ${error instanceof Error ? error.message : String(error)}`, true);
    }
    return this.#wallet?.address;
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
