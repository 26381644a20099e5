import { randomBytes } from 'node:crypto';
import { generatePrivateKey, type LocalAccount, privateKeyToAccount } from 'viem/accounts';
import { SessionKey } from '../../player/src/SessionKey.js';
import {
  type EdgePeerRtt,
  type EdgeRegistrationPayload,
  randomNonce,
  type SignedEdgeHeartbeat,
  type SignedEdgeRegistration,
  type SignedEdgeSessionReport,
  signEdgeMessage,
} from '../../protocol/edgeRegistration.js';
import type { CreateSessionResponse, GameInfo } from '../../protocol/playerApi.js';
import { encodeSessionProof } from '../../protocol/sessionProof.js';
import { TEST_DEPLOYMENT } from '../tools/testDeployment.js';

/** Test helpers shared by the matchmaker test files: edge keys and signed edge messages. */
export function newEdgeAccount(): LocalAccount {
  return privateKeyToAccount(generatePrivateKey());
}

/** The built-in game ids test matchmakers accept (`builtInGameIds`): the real ones and the test edges' `pong`. */
export const TEST_BUILT_IN_GAMES = 'pong,breakout,latency-probe,latency-probe-30,stress';

export const pongGame: GameInfo = {
  id: 'pong',
  title: 'Pong',
  description: 'Built-in test game',
  width: 640,
  height: 360,
  fps: 30,
  pricePerMinute: '1000',
  input: ['keyboard'],
};

export async function signedRegistration(
  account: LocalAccount,
  overrides: Partial<EdgeRegistrationPayload> = {},
): Promise<SignedEdgeRegistration> {
  const payload: EdgeRegistrationPayload = {
    edge: account.address,
    region: 'eu-west',
    lat: 48.85,
    lon: 2.35,
    gpu: 'none (test)',
    encoders: ['libx264'],
    capacity: 4,
    pricePerMinute: '1000000000000000',
    version: 'test',
    publicUrl: `http://edge-${account.address.slice(2, 8).toLowerCase()}.test:8443`,
    games: [pongGame],
    issuedAt: Date.now(),
    nonce: randomNonce(),
    deployment: TEST_DEPLOYMENT,
    ...overrides,
  };
  return { payload, signature: await signEdgeMessage(account, 'EdgeRegistration', payload) };
}

export async function signedHeartbeat(
  account: LocalAccount,
  load: {
    activeSessions?: number;
    freeSlots?: number;
    encodeHeadroom?: number;
    peerRtts?: EdgePeerRtt[];
  } = {},
  issuedAt = Date.now(),
  deployment = TEST_DEPLOYMENT,
): Promise<SignedEdgeHeartbeat> {
  const payload = {
    ...(load.peerRtts ? { peerRtts: load.peerRtts } : {}),
    deployment,
    edge: account.address,
    activeSessions: load.activeSessions ?? 0,
    freeSlots: load.freeSlots ?? 4,
    encodeHeadroom: load.encodeHeadroom ?? 1.5,
    issuedAt,
    nonce: randomNonce(),
  };
  return { payload, signature: await signEdgeMessage(account, 'EdgeHeartbeat', payload) };
}

export async function signedReport(
  account: LocalAccount,
  sessionId: string,
  event: 'started' | 'ended',
  reason = '',
  deployment = TEST_DEPLOYMENT,
): Promise<SignedEdgeSessionReport> {
  const payload = {
    deployment,
    edge: account.address,
    sessionId,
    event,
    reason,
    issuedAt: Date.now(),
    nonce: randomNonce(),
  };
  return { payload, signature: await signEdgeMessage(account, 'EdgeSessionReport', payload) };
}

/** A key prefix unique to one test run. */
export function testPrefix(name: string): string {
  return `farplay:test:${name}:${randomBytes(4).toString('hex')}:`;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A fresh player session key's address: matchmakers require one in every session request. */
export function playerKey(): string {
  return SessionKey.create().address;
}

/** The events-socket URL (`ws://…/v1/sessions/:id/events?proof=…`) of `session`, signed by its `key`. */
export async function eventsUrl(
  base: string,
  session: CreateSessionResponse,
  key: SessionKey,
): Promise<string> {
  const proof = await key.signAct('watch', session);
  const url = `${base.replace(/^http/, 'ws')}/v1/sessions/${session.sessionId}/events`;
  return `${url}?proof=${encodeSessionProof(proof)}`;
}
