/** The local clock against the matchmaker's. */
export interface ClockOffset {
  /** Local clock minus matchmaker clock, ms (positive: this machine is ahead). */
  offsetMs: number;
  /** Round trip of the request, ms (the offset is good to about half of it). */
  rttMs: number;
}

/** Reads the matchmaker's GET /v1/time (falling back to its HTTP Date header) and compares with this clock. */
export async function measureClockOffset(matchmakerUrl: string, timeoutMs = 3000): Promise<ClockOffset> {
  const base = matchmakerUrl.replace(/\/$/, '');
  const sentAt = Date.now();
  const response = await fetch(`${base}/v1/time`, { signal: AbortSignal.timeout(timeoutMs) });
  const receivedAt = Date.now();
  let remote: number | undefined;
  if (response.ok) remote = ((await response.json()) as { now?: number }).now;
  else await response.body?.cancel();
  // Older matchmakers have no /v1/time: the Date header is good to a second.
  if (typeof remote !== 'number') {
    const date = response.headers.get('date');
    if (!date) throw new Error('the matchmaker sent neither /v1/time nor a Date header');
    remote = Date.parse(date) + 500;
  }
  return { offsetMs: Math.round((sentAt + receivedAt) / 2 - remote), rttMs: receivedAt - sentAt };
}
