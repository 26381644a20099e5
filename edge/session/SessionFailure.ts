import type { ErrorCode } from '../../protocol/errors.js';
import type { SignalCloseCode } from '../../protocol/signaling.js';

/** Why a session part asks the session to end: a catalogue code, a message and the signalling close code. */
export interface SessionFailure {
  code: ErrorCode;
  message: string;
  closeCode: SignalCloseCode;
}
