import type { RTCPeerConnection, RTCRtpSender } from 'werift';
import type { BitrateMessage, EdgeMessage, ResizeMessage, StampsMessage } from '../../protocol/signaling.js';
import type { InputTransport } from './InputChannel.js';
import type { SessionFailure } from './SessionFailure.js';

/** What the session tells the player about itself when signalling starts (the `session` message). */
export interface SessionAnnouncement {
  sessionId: string;
  gameId: string;
  width: number;
  height: number;
  fps: number;
  encoder: string;
}

/** What a finished offer/answer exchange gives the session: its senders and, if any, the input channel. */
export interface NegotiatedMedia {
  video: RTCRtpSender;
  audio: RTCRtpSender | undefined;
  input: InputTransport | undefined;
  /** The SDP answer to return to the player (WHEP); undefined when signalling sent it itself. */
  answerSdp: string | undefined;
}

/** Player requests the session acts on (everything else is the signalling's own business). */
export type ControlMessage =
  | { type: 'keyframe' }
  | BitrateMessage
  | ResizeMessage
  | StampsMessage
  | { type: 'end' };

/** Events of a session's signalling. */
export type SessionSignallingEvents = {
  /** A player request for the session (keyframe, bitrate, resize, stamps, end). */
  control: [message: ControlMessage];
  /** The player broke the protocol or a limit: the session ends with this failure. */
  failed: [failure: SessionFailure];
  /** The player hung up. */
  closed: [];
};

/**
 * How a session talks to its player: WebSocket signalling (the edge offers, candidates trickle, control
 * messages arrive) or WHEP (the player's offer over HTTP, one answer, nothing after). StreamSession runs
 * the same life for both and leaves the exchange to its adapter.
 */
export interface SessionSignalling {
  readonly kind: 'websocket' | 'whep';
  on<K extends keyof SessionSignallingEvents>(
    event: K,
    listener: (...args: SessionSignallingEvents[K]) => unknown,
  ): () => void;
  /** Checks what the player sent before anything costly opens. Throws FarplayError (`EDGE_BAD_SDP`). */
  validate(): void;
  /**
   * Sets up `peer`'s transceivers and runs the offer/answer exchange up to the point where ICE can
   * connect. Throws FarplayError (`EDGE_BAD_SDP`…).
   */
  negotiate(peer: RTCPeerConnection, announcement: SessionAnnouncement): Promise<NegotiatedMedia>;
  /** Sends a message to the player when the transport has a way to (WHEP has none). */
  send(message: EdgeMessage): void;
  /** Ends the exchange (close code and reason for a socket); idempotent. */
  close(code: number, reason: string): void;
}
