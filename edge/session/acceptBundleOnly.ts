import { joinSdp, sectionMid, splitSdp } from './sdpSections.js';

/** Transport attributes a bundle-only section may leave out (they are the BUNDLE transport's). */
const TRANSPORT_ATTRIBUTES = ['a=ice-ufrag:', 'a=ice-pwd:', 'a=ice-options:', 'a=fingerprint:', 'a=setup:'];

/**
 * Makes an offer's bundle-only media sections ordinary members of its BUNDLE group (RFC 8843 §7.2):
 * a section with port 0 and `a=bundle-only` whose mid is in the group gets the port of the group's first
 * section and, where it lacks them, that section's ICE and DTLS attributes; `a=bundle-only` is dropped.
 * werift would otherwise take port 0 as a rejected section (answered inactive, left out of BUNDLE), so a
 * WHEP viewer offering max-bundle (GStreamer's webrtcbin does) got no audio. Other offers are unchanged.
 */
export function acceptBundleOnly(sdp: string): string {
  const { eol, session, group, sections } = splitSdp(sdp);
  if (!group || sections.length === 0) return sdp;
  const port = (lines: string[]) => Number(lines[0]?.split(' ')[1]);
  const tagged = sections.find((lines) => group.includes(sectionMid(lines) ?? '') && port(lines) !== 0);
  if (!tagged) return sdp;
  const taggedPort = tagged[0]?.split(' ')[1] ?? '9';
  let changed = false;
  for (const lines of sections) {
    if (port(lines) !== 0 || !lines.includes('a=bundle-only') || !group.includes(sectionMid(lines) ?? ''))
      continue;
    changed = true;
    const media = (lines[0] ?? '').split(' ');
    media[1] = taggedPort;
    lines[0] = media.join(' ');
    lines.splice(lines.indexOf('a=bundle-only'), 1);
    for (const prefix of TRANSPORT_ATTRIBUTES) {
      const from = tagged.find((line) => line.startsWith(prefix));
      if (from && !lines.some((line) => line.startsWith(prefix))) lines.push(from);
    }
    if (!lines.some((line) => line.startsWith('c='))) {
      const connection = tagged.find((line) => line.startsWith('c='));
      if (connection) lines.splice(1, 0, connection);
    }
  }
  if (!changed) return sdp;
  return joinSdp({ eol, session, sections });
}
