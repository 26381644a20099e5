/** Events of an Edge. */
export type EdgeEvents = {
  /** From the token: `checkers`/`quorum` (where QoS reports go, edge/billing/), `owner` (the session key). */
  sessionStarted: [
    {
      sessionId: string;
      gameId: string;
      checkers?: string[];
      quorum?: number;
      /** The on-chain billing id (token `bid`, else `billingSessionId(sessionId)`), with `checkers`. */
      billingId?: string;
      owner?: string;
    },
  ];
  sessionEnded: [{ sessionId: string; reason: string; code: number }];
};
