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

/** Timelock roles: who schedules, who executes (the zero address = anyone), who cancels. */
export const GovernanceConfig = Type.Object({
  proposers: Type.Array(AddressString, { minItems: 1 }),
  executors: Type.Array(AddressString, { minItems: 1 }),
  cancellers: Type.Array(AddressString, { minItems: 1 }),
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
  /** Seconds from requestWithdraw to withdraw; ≥ maxSessionMinutes × 60 + settlementWindowSeconds. */
  withdrawDelaySeconds: Type.Integer({ minimum: 1, maximum: 0xffffffff, default: 86_400 }),
  /** Seconds after unlock during which a withdrawal can be claimed; then the request expires. */
  withdrawClaimWindowSeconds: Type.Integer({ minimum: 1, maximum: 0xffffffff, default: 86_400 }),
  /** The longest session the matchmaker grants (grant maxMinutes). Default 4 h. */
  maxSessionMinutes: Type.Integer({ minimum: 1, maximum: 0xffff, default: 240 }),
  /**
   * Seconds after a session ends within which edges settle (grant expiry = start + maxMinutes + this window).
   * Must fit in the withdrawal delay with the session and in the timelock delay. Default 6 h.
   */
  settlementWindowSeconds: Type.Integer({ minimum: 1, default: 21_600 }),
  minStakeWei: Type.String({ pattern: '^[0-9]{1,78}$', default: '1000000000000000000000' }),
  unbondingDelaySeconds: Type.Integer({ minimum: 1, default: 604_800 }),
  /** Seconds every governance change waits; ≥ settlementWindowSeconds. */
  timelockDelaySeconds: Type.Integer({ minimum: 1, default: 172_800 }),
  slashPlayerBps: Type.Integer({ minimum: 0, maximum: 10_000, default: 5000 }),
  slashFinderBps: Type.Integer({ minimum: 0, maximum: 10_000, default: 1000 }),
  /** Timelock proposer, executor and canceller when `governance` is not given; default the deployer. */
  admin: Type.Optional(AddressString),
  /** Separate timelock role sets (each non-empty); overrides `admin`. */
  governance: Type.Optional(GovernanceConfig),
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
  if (/^0x0{40}$/.test(config.treasury)) {
    throw new FarplayError('CHAIN_BAD_CONFIG', 'bad contracts config /treasury: the zero address');
  }
  // The invariant of contracts-client/README.md: a session covered at its start is paid if settled before its grant
  // expires (start + maxMinutes + settlement window); no withdrawal requested after the start can unlock earlier.
  const settlementHorizon = config.maxSessionMinutes * 60 + config.settlementWindowSeconds;
  if (config.withdrawDelaySeconds < settlementHorizon) {
    throw new FarplayError(
      'CHAIN_BAD_CONFIG',
      `bad contracts config /withdrawDelaySeconds: ${config.withdrawDelaySeconds} < maxSessionMinutes × 60 + settlementWindowSeconds = ${settlementHorizon}`,
    );
  }
  // A checker-set or policy change voids unsettled attestations when it executes: announced a timelock delay ahead,
  // it must leave edges at least one settlement window.
  if (config.timelockDelaySeconds < config.settlementWindowSeconds) {
    throw new FarplayError(
      'CHAIN_BAD_CONFIG',
      `bad contracts config /timelockDelaySeconds: ${config.timelockDelaySeconds} < settlementWindowSeconds = ${config.settlementWindowSeconds}`,
    );
  }
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
