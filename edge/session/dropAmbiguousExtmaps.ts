import { joinSdp, sectionMid, splitSdp } from './sdpSections.js';

/** `a=extmap:<id>[/<direction>] <uri> …` */
const EXTMAP = /^a=extmap:(\d+)(?:\/\w+)?\s+(\S+)/;

/**
 * Removes from an offer's BUNDLE group every `a=extmap` line whose id the offer gives to two URIs in the
 * group (say 1 = ssrc-audio-level on audio and 1 = mid on video, as a client numbering each section on
 * its own writes). On one transport an id must name one URI (RFC 8843 §9.2, RFC 8285 §5), and the
 * answer takes each id from the offer (werift keeps the offered extensions it knows, with their ids), so
 * such an id would make the edge stamp, say, mid where the viewer reads an audio level: neither URI is
 * answered and neither is sent. Other offers are returned unchanged.
 */
export function dropAmbiguousExtmaps(sdp: string): string {
  const { eol, session, group, sections } = splitSdp(sdp);
  if (!group) return sdp;
  const bundled = sections.filter((lines) => group.includes(sectionMid(lines) ?? ''));
  const urisById = new Map<string, Set<string>>();
  for (const line of bundled.flat()) {
    const [, id, uri] = EXTMAP.exec(line) ?? [];
    if (id === undefined || uri === undefined) continue;
    urisById.set(id, (urisById.get(id) ?? new Set()).add(uri));
  }
  const ambiguous = (line: string): boolean => {
    const id = EXTMAP.exec(line)?.[1];
    return id !== undefined && (urisById.get(id)?.size ?? 0) > 1;
  };
  if (!bundled.some((lines) => lines.some(ambiguous))) return sdp;
  const kept = sections.map((lines) =>
    bundled.includes(lines) ? lines.filter((line) => !ambiguous(line)) : lines,
  );
  return joinSdp({ eol, session, sections: kept });
}
