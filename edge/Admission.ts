import { FarplayError, findError } from '../protocol/errors.js';
import type { SessionClaims } from '../protocol/sessionToken.js';
import { type EdgeMessage, SignalCloseCodes } from '../protocol/signaling.js';
import type { GameDefinition } from './games/GameRuntime.js';
import type { SignalSocket } from './session/SignalChannel.js';

/** A token that passed the checks, with what its session needs. */
export interface Admission {
  claims: SessionClaims;
  game: GameDefinition;
  encoder: string;
}

/** A refusal at admission: the catalogue error and the signalling close code. */
export class AdmissionRefused extends FarplayError {
  readonly closeCode: number;
  constructor(closeCode: number, error: FarplayError) {
    super(error.code, error.message, { cause: error });
    this.closeCode = closeCode;
  }
}

/** The running sessions' slots, as admission sees them. */
export interface SlotState {
  /** Running sessions, probe sessions included. */
  sessions: number;
  /** Running probe sessions (checkers'). */
  probes: number;
  capacity: number;
}

/**
 * Whether a session (`probe`: a checker's probe session) may take a slot. Probe sessions
 * (protocol/edgeProbe.ts) never take a player's slot: one at a time, only on a free slot. Returns true
 * when a player is admitted only by ending the running probe sessions; throws AdmissionRefused (EDGE_FULL).
 */
export function claimSlot(slots: SlotState, probe: boolean): boolean {
  const { sessions, probes, capacity } = slots;
  if (probe) {
    if (probes > 0 || sessions >= capacity) {
      throw new AdmissionRefused(
        SignalCloseCodes.EDGE_FULL,
        new FarplayError('EDGE_FULL', 'no free slot for a probe session (players come first)'),
      );
    }
    return false;
  }
  if (sessions - probes >= capacity) {
    throw new AdmissionRefused(SignalCloseCodes.EDGE_FULL, new FarplayError('EDGE_FULL'));
  }
  return sessions >= capacity;
}

/**
 * Tells a refused player why (an `error` message with the catalogue code) and closes its signalling socket
 * with the matching close code, which it returns. Any other error is refused as INTERNAL.
 */
export function refuseSignalSocket(socket: SignalSocket, error: unknown): number {
  const refusal =
    error instanceof AdmissionRefused
      ? error
      : new AdmissionRefused(SignalCloseCodes.INTERNAL, findError(error) ?? new FarplayError('INTERNAL'));
  const message: EdgeMessage = { type: 'error', code: refusal.code, message: refusal.message };
  try {
    socket.send(JSON.stringify(message));
    socket.close(refusal.closeCode, refusal.code);
  } catch {
    // the socket is already gone
  }
  return refusal.closeCode;
}
