import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Address, type Hex, type LocalAccount, parseEther } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { FarplayError } from '../../protocol/errors.js';
import { type QosPolicy, qosPolicyHash } from '../../protocol/qosPolicy.js';
import { testATHAbi } from './abis/TestATH.js';
import { localChain } from './chains.js';
import { sortAddresses } from './checkers.js';
import { createChainClients } from './clients.js';
import { deployPaymentsChain, deployStakingChain } from './deploy.js';
import { type Deployment, writeDeployment } from './deployment.js';
import { depositFor } from './escrow.js';
import { registerEdge } from './staking.js';
import { sendTx } from './tx.js';

/** anvil's well-known development mnemonic: local chains only, never real funds. */
export const ANVIL_MNEMONIC = 'test test test test test test test test test test test junk';
/** Chain ids of the two local anvil nodes (staking, payments). */
export const LOCAL_STAKING_CHAIN_ID = 31337;
export const LOCAL_PAYMENTS_CHAIN_ID = 31338;

/** A running anvil node. */
export interface AnvilNode {
  rpcUrl: string;
  chainId: number;
  close(): Promise<void>;
}

function anvilBinary(): string {
  const bin = fileURLToPath(new URL('../../node_modules/.bin/anvil', import.meta.url));
  if (!existsSync(bin))
    throw new FarplayError('CHAIN_UNAVAILABLE', `anvil not found at ${bin} (npm ci installs it)`);
  return bin;
}

/** Starts anvil on a free port (Cancun; loopback unless `host` says otherwise) and resolves once it listens. */
export function startAnvil(options: {
  chainId: number;
  /** Address to listen on (default 127.0.0.1; e.g. a netlab address, for processes in network namespaces). */
  host?: string;
  accounts?: number;
  /** More anvil flags, e.g. `--steps-tracing`. */
  extraArgs?: readonly string[];
}): Promise<AnvilNode> {
  const child: ChildProcess = spawn(
    anvilBinary(),
    [
      '--host',
      options.host ?? '127.0.0.1',
      '--port',
      '0',
      '--chain-id',
      String(options.chainId),
      '--hardfork',
      'cancun',
      '--accounts',
      String(options.accounts ?? 12),
      '--mnemonic',
      ANVIL_MNEMONIC,
      '--gas-limit',
      '60000000',
      ...(options.extraArgs ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let exited = false;
  const exitPromise = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const close = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      await exitPromise;
    }
  };
  return new Promise<AnvilNode>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      void close();
      reject(new FarplayError('CHAIN_UNAVAILABLE', `anvil did not start: ${out.slice(-500)}`));
    }, 20_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /Listening on ([0-9.]+:\d+)/.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        child.stdout?.removeAllListeners('data');
        child.stdout?.resume();
        resolve({ rpcUrl: `http://${m[1]}`, chainId: options.chainId, close });
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new FarplayError('CHAIN_UNAVAILABLE', `anvil exited (${code}): ${out.slice(-500)}`));
    });
  });
}

/** The fixed roles of the anvil development accounts. */
export function localAccounts() {
  const at = (addressIndex: number) => mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex });
  return {
    deployer: at(0),
    player: at(1),
    operator: at(2),
    edge: at(3),
    treasury: at(4),
    checkers: [at(5), at(6), at(7), at(8), at(9)],
  };
}

/** A demo key as hex, for parts that want a private key rather than an account. */
export function localPrivateKey(addressIndex: number): Hex {
  const key = mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex }).getHdKey().privateKey;
  if (key === null) throw new FarplayError('INTERNAL', 'no private key');
  return `0x${Buffer.from(key).toString('hex')}`;
}

export interface LocalChains {
  staking: { rpcUrl: string; chainId: number; deployment: Deployment };
  payments: { rpcUrl: string; chainId: number; deployment: Deployment };
  accounts: {
    deployer: LocalAccount;
    player: LocalAccount;
    operator: LocalAccount;
    edge: LocalAccount;
    treasury: LocalAccount;
    checkers: LocalAccount[];
  };
  /** Private keys of the demo accounts by role (anvil mnemonic indexes 0..9). */
  privateKeys: Record<'deployer' | 'player' | 'operator' | 'edge' | 'treasury', Hex> & { checkers: Hex[] };
  close(): Promise<void>;
}

export interface StartLocalChainsParameters {
  /** Two anvil nodes (staking 31337, payments 31338) or one serving both. Default true. */
  separate?: boolean;
  /** Address the nodes listen on (default 127.0.0.1). */
  host?: string;
  /** ATH the demo player gets in escrow. Default 1000 ATH. */
  playerDeposit?: bigint;
  /** Checker quorum k of the demo checkers. Default 3. */
  quorum?: number;
  /** How many of the five demo checkers (anvil accounts 5..9) form the set. Default 5. */
  checkerCount?: number;
  /** The QoS policy the checker set publishes (its hash goes on chain). Default the 60 s policy. */
  policy?: QosPolicy;
  /** Delays in seconds. Defaults: withdrawal 1 day, unbonding 7 days, timelock 60 s. */
  withdrawDelay?: number;
  unbondingDelay?: bigint;
  timelockDelay?: bigint;
  /** If set, also writes the two deployment files there (see `readDeployment`). */
  deploymentsDir?: string;
  /** More edge keys the demo operator registers and stakes (the demo edge always is). */
  extraEdges?: readonly LocalAccount[];
}

/**
 * For `npm start` and tests: starts anvil (two nodes by default), deploys everything on both chains,
 * deposits ATH into the escrow for the demo player and registers the demo edge (and `extraEdges`) with its
 * operator's stake.
 */
export async function startLocalChains(p: StartLocalChainsParameters = {}): Promise<LocalChains> {
  const separate = p.separate ?? true;
  const nodes: AnvilNode[] = [];
  try {
    const host = p.host !== undefined ? { host: p.host } : {};
    const stakingNode = await startAnvil({ chainId: LOCAL_STAKING_CHAIN_ID, ...host });
    nodes.push(stakingNode);
    const paymentsNode = separate
      ? await startAnvil({ chainId: LOCAL_PAYMENTS_CHAIN_ID, ...host })
      : stakingNode;
    if (separate) nodes.push(paymentsNode);
    const accounts = localAccounts();
    const checkerSet = {
      checkers: sortAddresses(accounts.checkers.slice(0, p.checkerCount ?? 5).map((c) => c.address)),
      quorum: p.quorum ?? 3,
      policyHash: qosPolicyHash(p.policy),
    };
    const timelockDelay = p.timelockDelay ?? 60n;
    const stakingClients = createChainClients(
      localChain(stakingNode.chainId, stakingNode.rpcUrl),
      accounts.deployer,
    );
    const paymentsClients = createChainClients(
      localChain(paymentsNode.chainId, paymentsNode.rpcUrl),
      accounts.deployer,
    );

    const staking = await deployStakingChain(stakingClients, {
      checkerSet,
      timelockDelay,
      unbondingDelay: p.unbondingDelay ?? 7n * 86_400n,
    });
    const payments = await deployPaymentsChain(paymentsClients, {
      // One node serving both roles: one token for both.
      ...(separate ? {} : { token: staking.token }),
      checkerSet,
      timelockDelay,
      treasury: accounts.treasury.address,
      withdrawDelay: p.withdrawDelay ?? 86_400,
    });
    const escrowAddress = payments.escrow as Address;
    const stakingAddress = staking.staking as Address;

    // Demo player: ATH deposited into the escrow on the payments chain.
    const deposit = p.playerDeposit ?? parseEther('1000');
    await sendTx(paymentsClients, {
      address: payments.token,
      abi: testATHAbi,
      functionName: 'mint',
      args: [accounts.deployer.address, deposit],
    });
    await depositFor(
      paymentsClients,
      { address: escrowAddress, chainId: paymentsNode.chainId },
      payments.token,
      accounts.player.address,
      deposit,
    );

    // Demo edge: its operator stakes the minimum on the staking chain.
    const operatorClients = createChainClients(
      localChain(stakingNode.chainId, stakingNode.rpcUrl),
      accounts.operator,
    );
    const stake = parseEther('1000');
    const edges = [accounts.edge, ...(p.extraEdges ?? [])];
    await sendTx(operatorClients, {
      address: staking.token,
      abi: testATHAbi,
      functionName: 'mint',
      args: [accounts.operator.address, stake * BigInt(edges.length)],
    });
    for (const edge of edges) {
      await registerEdge(
        operatorClients,
        { address: stakingAddress, chainId: stakingNode.chainId, token: staking.token },
        { edge, cutBps: 1000, amount: stake },
      );
    }

    if (p.deploymentsDir !== undefined) {
      writeDeployment(staking, p.deploymentsDir);
      writeDeployment(payments, p.deploymentsDir);
    }
    return {
      staking: { rpcUrl: stakingNode.rpcUrl, chainId: stakingNode.chainId, deployment: staking },
      payments: { rpcUrl: paymentsNode.rpcUrl, chainId: paymentsNode.chainId, deployment: payments },
      accounts,
      privateKeys: {
        deployer: localPrivateKey(0),
        player: localPrivateKey(1),
        operator: localPrivateKey(2),
        edge: localPrivateKey(3),
        treasury: localPrivateKey(4),
        checkers: [5, 6, 7, 8, 9].map(localPrivateKey),
      },
      close: async () => {
        await Promise.all(nodes.map((n) => n.close()));
      },
    };
  } catch (error) {
    await Promise.all(nodes.map((n) => n.close()));
    throw error;
  }
}
