import Type from 'typebox';
import { verifyCapabilitySnapshot } from '../protocol/capabilitySnapshot.js';
import type { SignedEdgeRegistration } from '../protocol/edgeRegistration.js';
import { FarplayError } from '../protocol/errors.js';
import type { MatchmakerApp } from './buildApp.js';
import { CapabilityNonces } from './CapabilityNonces.js';
import type { MatchmakerConfig } from './config.js';
import { UdpProbeServer } from './UdpProbeServer.js';

/** What `registerOperatorRoutes` needs. */
export interface OperatorRoutesOptions {
  config: Pick<MatchmakerConfig, 'host' | 'udpProbePort' | 'capabilityMaxAgeS' | 'requireCapability'>;
  /** Key material shared by every instance of this network (the session-token key), for the nonces. */
  secret: Uint8Array;
  /** Clock (default Date.now). */
  now?: () => number;
}

/** The hook the registration route calls before it stores an edge. */
export interface OperatorRoutes {
  /**
   * Checks a registration's capability snapshot: for this edge, signed by it, bound to a nonce of this
   * network that has not expired, measured after that nonce, and at least the declared capacity. Throws
   * `OPERATOR_BAD_CAPABILITY` or `OPERATOR_CAPACITY_ABOVE_MEASURED`. Without a snapshot it passes unless
   * `requireCapability` is set.
   */
  checkRegistration(body: SignedEdgeRegistration): Promise<void>;
}

const ErrorResponse = Type.Object({ code: Type.String(), message: Type.String() });

/**
 * Routes operators' tools use: GET /v1/time (clock-offset check), GET /v1/operator/nonce (binds a capability
 * snapshot to now), GET /v1/operator/udp-probe (the UDP port that answers reachability probes, served
 * by a UdpProbeServer this function starts when the app is ready and stops when it closes).
 */
export async function registerOperatorRoutes(
  app: MatchmakerApp,
  options: OperatorRoutesOptions,
): Promise<OperatorRoutes> {
  const { config } = options;
  const now = options.now ?? Date.now;
  const nonces = new CapabilityNonces(options.secret, now);
  const maxAgeMs = config.capabilityMaxAgeS * 1000;
  let probe: UdpProbeServer | undefined;

  app.get(
    '/v1/time',
    {
      schema: {
        tags: ['operators'],
        summary: 'The matchmaker’s clock (unix ms), for the edge’s clock-offset check',
        response: { 200: Type.Object({ now: Type.Number() }) },
      },
    },
    async () => ({ now: now() }),
  );
  app.get(
    '/v1/operator/nonce',
    {
      schema: {
        tags: ['operators'],
        summary: 'A fresh nonce a capability snapshot (farplay-edge bench) is bound to',
        response: {
          200: Type.Object({ nonce: Type.String(), issuedAt: Type.Number(), maxAgeS: Type.Integer() }),
        },
      },
    },
    async () => ({ ...nonces.issue(), maxAgeS: config.capabilityMaxAgeS }),
  );
  app.get(
    '/v1/operator/udp-probe',
    {
      schema: {
        tags: ['operators'],
        summary: 'UDP port answering reachability probes (`FARPLAY-PROBE <nonce>`, ≥ 96 bytes)',
        response: { 200: Type.Object({ port: Type.Integer() }), 503: ErrorResponse },
      },
    },
    async () => {
      if (!probe) throw new FarplayError('OPERATOR_PROBE_NOT_READY');
      return { port: probe.port };
    },
  );

  app.addHook('onReady', async () => {
    probe = await UdpProbeServer.start({ host: config.host, port: config.udpProbePort });
  });
  app.addHook('onClose', async () => {
    probe?.close();
  });

  return {
    async checkRegistration(body) {
      const snapshot = body.capability;
      if (!snapshot) {
        if (config.requireCapability) {
          throw new FarplayError(
            'OPERATOR_BAD_CAPABILITY',
            'this matchmaker needs a capability snapshot with the registration: run `farplay-edge bench`',
          );
        }
        return;
      }
      const p = snapshot.payload;
      if (p.edge.toLowerCase() !== body.payload.edge.toLowerCase()) {
        throw new FarplayError('OPERATOR_BAD_CAPABILITY', 'the capability snapshot is for another edge');
      }
      const issuedAt = nonces.verify(p.nonce, maxAgeMs);
      if (p.measuredAt < issuedAt) {
        throw new FarplayError('OPERATOR_BAD_CAPABILITY', 'the capability snapshot predates its nonce');
      }
      await verifyCapabilitySnapshot(snapshot);
      if (body.payload.capacity > p.sessions) {
        throw new FarplayError(
          'OPERATOR_CAPACITY_ABOVE_MEASURED',
          `the registration declares ${body.payload.capacity} sessions but the capability snapshot measured ${p.sessions}; lower \`capacity\` or bench again`,
          { details: { declared: body.payload.capacity, measured: p.sessions } },
        );
      }
    },
  };
}
