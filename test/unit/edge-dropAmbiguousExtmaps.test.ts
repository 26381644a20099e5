import { describe, expect, it } from 'vitest';
import { dropAmbiguousExtmaps } from '../../edge/session/dropAmbiguousExtmaps.js';

const MID = 'urn:ietf:params:rtp-hdrext:sdes:mid';
const LEVEL = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';
const ABS = 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time';

// Only what the function reads: the BUNDLE group, the sections' mids and extmaps.
const offer = (video: readonly string[], audio: readonly string[], group = 'a=group:BUNDLE 0 1') =>
  [
    'v=0',
    group,
    'm=video 9 UDP/TLS/RTP/SAVPF 96',
    'a=mid:0',
    ...video,
    'a=rtpmap:96 H264/90000',
    'm=audio 9 UDP/TLS/RTP/SAVPF 97',
    'a=mid:1',
    ...audio,
    'a=rtpmap:97 OPUS/48000/2',
    '',
  ].join('\r\n');

const extmapLines = (sdp: string) => sdp.split('\r\n').filter((line) => line.startsWith('a=extmap:'));

describe('extension ids an offer gives two URIs', () => {
  it('drops every line of an id that names two URIs across the BUNDLE group, keeps the rest', () => {
    const sdp = dropAmbiguousExtmaps(
      offer(
        [`a=extmap:1 ${MID}`, `a=extmap:2/sendrecv ${ABS}`],
        [`a=extmap:1 ${MID}`, `a=extmap:2 ${LEVEL}`],
      ),
    );
    expect(extmapLines(sdp)).toEqual([`a=extmap:1 ${MID}`, `a=extmap:1 ${MID}`]);
    expect(sdp).toContain('a=rtpmap:97 OPUS/48000/2\r\n');
    expect(sdp.endsWith('\r\n')).toBe(true);
  });

  it('leaves other offers alone: consistent ids, no BUNDLE group, or the clash outside the group', () => {
    const consistent = offer(
      [`a=extmap:1 ${MID}`, `a=extmap:3 ${ABS}`],
      [`a=extmap:1 ${MID}`, `a=extmap:2 ${LEVEL}`],
    );
    expect(dropAmbiguousExtmaps(consistent)).toBe(consistent);
    const clash = [[`a=extmap:2 ${ABS}`], [`a=extmap:2 ${LEVEL}`]] as const;
    const ungrouped = offer(...clash, 'a=msid-semantic: WMS');
    expect(dropAmbiguousExtmaps(ungrouped)).toBe(ungrouped);
    const outside = offer(...clash, 'a=group:BUNDLE 0');
    expect(dropAmbiguousExtmaps(outside)).toBe(outside);
  });
});
