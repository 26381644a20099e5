import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { Address, Hex } from 'viem';
import { NetworkBilling } from '../../protocol/billingSession.js';
import { GrantJson, Signature65 } from '../../protocol/qosReport.js';
import type { Matchmaker } from '../Matchmaker.js';
import { errorResponses, SessionParams } from './schemas.js';

/** Funds a page's wallet on a local chain: some ETH for gas and ATH to deposit. */
export type Faucet = (address: Address) => Promise<{ eth: string; ath: string }>;

export interface BillingRoutesOptions {
  matchmaker: Matchmaker;
  /** Only on local chains (`npm start`): `POST /v1/faucet` exists only when this is given. */
  faucet?: Faucet;
}

const AddressBody = Type.Object(
  { address: Type.String({ pattern: '^0x[0-9a-fA-F]{40}$' }) },
  { additionalProperties: false },
);

/** Billing as a page needs it before a session, and the local-chain faucet. */
export const billingRoutes: FastifyPluginAsyncTypebox<BillingRoutesOptions> = async (
  app,
  { matchmaker, faucet },
) => {
  app.get(
    '/v1/billing',
    {
      schema: {
        tags: ['players'],
        summary: 'Whether sessions are billed, the chains, period and faucet',
        response: { 200: NetworkBilling },
      },
    },
    async () => matchmaker.billing(),
  );
  app.post(
    '/v1/sessions/:sessionId/grant',
    {
      schema: {
        tags: ['players'],
        summary:
          'The page’s grant for a billed session: checked (session, edge, key, signature, deposit), then opened at its checkers',
        params: SessionParams,
        body: Type.Object({ grant: GrantJson, grantSignature: Signature65 }, { additionalProperties: false }),
        response: {
          200: Type.Object({ checkers: Type.Array(Type.String()), opened: Type.Integer() }),
          ...errorResponses,
        },
      },
    },
    async (request) =>
      matchmaker.acceptGrant(
        request.params.sessionId,
        request.body.grant,
        request.body.grantSignature as Hex,
      ),
  );
  if (faucet === undefined) return;
  app.post(
    '/v1/faucet',
    {
      schema: {
        tags: ['players'],
        summary: 'Local chains only: fund a page wallet with ETH for gas and test ATH',
        body: AddressBody,
        response: { 200: Type.Object({ eth: Type.String(), ath: Type.String() }), ...errorResponses },
      },
      config: { rateLimit: { max: 10, timeWindow: 60_000 } },
    },
    async (request) => faucet(request.body.address as Address),
  );
};
