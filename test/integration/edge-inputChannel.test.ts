import { afterEach, describe, expect, it } from 'vitest';
import { RTCPeerConnection } from 'werift';
import { createInputChannel } from '../../edge/session/InputChannel.js';
import { INPUT_CHANNEL } from '../../protocol/input.js';

// werift 0.25 internals this test reaches into (there is no public way to watch SCTP abandon a chunk).
interface SctpInternals {
  dataChannels: Record<
    string,
    { maxRetransmits: number | null; ordered: boolean; negotiated: boolean; id: number }
  >;
  sctp: { sentQueue: object[]; maybeAbandon(chunk: object): boolean };
}

let peer: RTCPeerConnection | undefined;
afterEach(async () => {
  await peer?.close();
  peer = undefined;
});

describe('input data channel on werift', () => {
  it('is negotiated id 0, unordered, and really gives up a message instead of retransmitting it', () => {
    peer = new RTCPeerConnection();
    createInputChannel(peer);
    const sctp = (peer as unknown as { sctpTransport: SctpInternals }).sctpTransport;
    const channel = sctp.dataChannels[String(INPUT_CHANNEL.init.id)];
    expect(channel).toMatchObject({ negotiated: true, ordered: false, id: 0 });
    // A DATA chunk of this channel, sent once and now due for retransmission: it must be abandoned.
    const chunk = {
      maxRetransmits: channel?.maxRetransmits,
      sentCount: 1,
      abandoned: false,
      flags: 3,
      type: 0,
    };
    sctp.sctp.sentQueue.push(chunk);
    expect(sctp.sctp.maybeAbandon(chunk)).toBe(true);
    // Plain werift with maxRetransmits 0 would keep retransmitting (the reason for the workaround).
    const plain = { maxRetransmits: 0, sentCount: 1, abandoned: false, flags: 3, type: 0 };
    sctp.sctp.sentQueue.push(plain);
    expect(sctp.sctp.maybeAbandon(plain)).toBe(false);
  });
});
