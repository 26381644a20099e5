import type { Address, Hex, LocalAccount } from 'viem';
import { generatePrivateKey, type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts';
import { type SessionAct, type SessionProof, signSessionAct } from '../../protocol/sessionProof.js';

/** What `SessionKey.signAct` needs besides the act: the session and the matchmaker deployment it is on. */
export interface SessionActTarget {
  sessionId: string;
  /** `CreateSessionResponse.deployment` (none when the API named none, e.g. a standalone edge). */
  deployment?: string | undefined;
}

/**
 * The throwaway session key (secp256k1) the page makes for each session (issue 8): its address goes in
 * the session request, and every later act on the session (events socket, `replaces`, picking up a moved
 * session, ending it) carries a fresh signature by it (protocol/sessionProof.ts). The billing view signs
 * the player's grant and per-minute QoS reports with the same key (`signTypedData`), so one key proves
 * ownership and signs the reports. The private key never leaves this object (nor the page); a new page
 * or a new game makes a new key. DOM-free: Node tests and benches use it too.
 */
export class SessionKey {
  readonly #account: PrivateKeyAccount;
  /**
   * Signs any EIP-712 typed data with the session key (the billing grant, per-minute QoS reports): the
   * same signature as a viem LocalAccount's, so a SessionKey is a `QosReportSigner` as it is.
   */
  readonly signTypedData: LocalAccount['signTypedData'];

  private constructor(account: PrivateKeyAccount) {
    this.#account = account;
    this.signTypedData = account.signTypedData;
  }

  /** A fresh random key. */
  static create(): SessionKey {
    return new SessionKey(privateKeyToAccount(generatePrivateKey()));
  }

  /** A key from a known private key (tests). */
  static fromPrivateKey(privateKey: Hex): SessionKey {
    return new SessionKey(privateKeyToAccount(privateKey));
  }

  /** The key's address: `sessionKey` in the session request, the key a grant names. */
  get address(): Address {
    return this.#account.address;
  }

  /** Signs one act on a session (fresh `issuedAt` and nonce each call: a proof is used once). */
  signAct(act: SessionAct, target: SessionActTarget): Promise<SessionProof> {
    return signSessionAct(this.#account, {
      act,
      sessionId: target.sessionId,
      deployment: target.deployment ?? '',
    });
  }

  /** Signs a plain message (EIP-191), for whoever needs a simpler proof. */
  signMessage(message: string): Promise<Hex> {
    return this.#account.signMessage({ message });
  }
}
