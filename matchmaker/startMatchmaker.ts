import type { Logger } from 'pino';
import { type BuildAppOptions, buildApp, type MatchmakerApp } from './buildApp.js';
import { defaultMatchmakerConfig, type MatchmakerConfig } from './config.js';

export interface RunningMatchmaker {
  app: MatchmakerApp;
  /** Base URL it listens on, e.g. http://127.0.0.1:8080. */
  url: string;
  /** Base64url spki Ed25519 key edges verify session tokens with. */
  sessionPublicKey: string;
  /** Stops listening, the loops and the store it opened; idempotent. */
  close(): Promise<void>;
}

/** Builds the matchmaker app and listens on `config.host:config.port` (port 0 = any free port). */
export async function startMatchmaker(
  config: Partial<MatchmakerConfig> = {},
  logger?: Logger,
  extra: Pick<BuildAppOptions, 'faucet' | 'availableDeposit'> = {},
): Promise<RunningMatchmaker> {
  const full = defaultMatchmakerConfig(config);
  const app = await buildApp({ config: full, ...(logger ? { logger } : {}), ...extra });
  let address: string;
  try {
    address = await app.listen({ host: full.host, port: full.port });
  } catch (error) {
    // E.g. the port is taken: stop the loops and the store connection the app already opened.
    await app.close().catch(() => {});
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    app,
    url: address.replace('[::1]', 'localhost'),
    sessionPublicKey: app.sessionPublicKey,
    close() {
      closing ??= app.close().then(() => {});
      return closing;
    },
  };
}
