import Type, { type Static } from 'typebox';
import Value from 'typebox/value';
import { FarplayError } from '../../protocol/errors.js';

const AddressString = Type.String({ pattern: '^0x[0-9a-fA-F]{40}$' });
const Bytes32String = Type.String({ pattern: '^0x[0-9a-fA-F]{64}$' });

/** One chain in the deploy config: its name, chain id (needed for local, checked otherwise), RPC URL, ATH token to use. */
export const ChainConfigSchema = Type.Object({
  name: Type.Union([
    Type.Literal('local'),
    Type.Literal('mainnet'),
    Type.Literal('arbitrum'),
    Type.Literal('sepolia'),
    Type.Literal('arbitrumSepolia'),
  ]),
  chainId: Type.Optional(Type.Integer({ minimum: 1 })),
  rpcUrl: Type.String({ pattern: '^(https?|wss?)://' }),
  athToken: Type.Optional(AddressString),
});

/**
 * What `npm run contracts:deploy` reads (a JSON file; the deployer key comes from FARPLAY_DEPLOYER_KEY).
 * Defaults: one local anvil at 127.0.0.1:8545 for both chains, the anvil checker accounts, quorum 3.
 */
export const DeployConfig = Type.Object({
  staking: ChainConfigSchema,
  payments: ChainConfigSchema,
  deploymentsDir: Type.String({ default: '.farplay/deployments' }),
  /** Checker addresses (any order; stored ascending). */
  checkers: Type.Array(AddressString, { minItems: 1, maxItems: 64 }),
  quorum: Type.Integer({ minimum: 1, default: 3 }),
  /** QoS policy hash; default the hash of protocol/qosPolicy.ts. */
  policyHash: Type.Optional(Bytes32String),
  treasury: AddressString,
  feeBps: Type.Integer({ minimum: 0, maximum: 1000, default: 250 }),
  withdrawDelaySeconds: Type.Integer({ minimum: 0, default: 86_400 }),
  minStakeWei: Type.String({ pattern: '^[0-9]{1,78}$', default: '1000000000000000000000' }),
  unbondingDelaySeconds: Type.Integer({ minimum: 0, default: 604_800 }),
  timelockDelaySeconds: Type.Integer({ minimum: 0, default: 172_800 }),
  slashPlayerBps: Type.Integer({ minimum: 0, maximum: 10_000, default: 5000 }),
  slashFinderBps: Type.Integer({ minimum: 0, maximum: 10_000, default: 1000 }),
  /** Timelock proposer/executor; default the deployer. */
  admin: Type.Optional(AddressString),
});
export type DeployConfig = Static<typeof DeployConfig>;

/** Applies defaults and validates; a bad field stops with CHAIN_BAD_CONFIG naming it. */
export function parseDeployConfig(input: unknown): Readonly<DeployConfig> {
  const value = Value.Default(DeployConfig, structuredClone(input));
  const errors = [...Value.Errors(DeployConfig, value)];
  if (errors.length > 0) {
    const first = errors[0] as { instancePath?: string; message?: string };
    throw new FarplayError(
      'CHAIN_BAD_CONFIG',
      `bad contracts config ${first.instancePath || '(root)'}: ${first.message ?? 'invalid'}`,
      { details: errors.slice(0, 5) },
    );
  }
  const config = value as DeployConfig;
  if (config.quorum > config.checkers.length) {
    throw new FarplayError(
      'CHAIN_BAD_CONFIG',
      `bad contracts config /quorum: ${config.quorum} > ${config.checkers.length} checkers`,
    );
  }
  if (config.slashPlayerBps + config.slashFinderBps > 10_000) {
    throw new FarplayError(
      'CHAIN_BAD_CONFIG',
      'bad contracts config /slashPlayerBps: player + finder share > 10000 bps',
    );
  }
  return Object.freeze(config);
}
