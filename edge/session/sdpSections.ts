/** An SDP description cut into its session part and its media sections, each a list of lines. */
export interface SdpSections {
  /** The line ending the description uses (`\r\n`, or `\n` as some clients write). */
  eol: string;
  session: string;
  /** The mids of the session's `a=group:BUNDLE` line, if it has one. */
  group: string[] | undefined;
  /** Each media section's lines, `m=…` first. */
  sections: string[][];
}

/** Cuts `sdp` at its `m=` lines (see SdpSections). */
export function splitSdp(sdp: string): SdpSections {
  const parts = sdp.split(/\r?\nm=/);
  const session = parts[0] ?? '';
  return {
    eol: sdp.includes('\r\n') ? '\r\n' : '\n',
    session,
    group: /^a=group:BUNDLE (.+)$/m.exec(session)?.[1]?.trim().split(/\s+/),
    sections: parts.slice(1).map((text) => `m=${text}`.split(/\r?\n/)),
  };
}

/** The section's `a=mid`, if any. */
export function sectionMid(lines: readonly string[]): string | undefined {
  return lines
    .find((line) => line.startsWith('a=mid:'))
    ?.slice(6)
    .trim();
}

/** The description again from its parts (empty lines dropped, one line ending at the end). */
export function joinSdp({ eol, session, sections }: Omit<SdpSections, 'group'>): string {
  return [session, ...sections.map((lines) => lines.filter((line) => line !== '').join(eol))].join(eol) + eol;
}
