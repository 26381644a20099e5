/**
 * pino `redact` paths every Farplay process uses: keys, tokens, signatures and authorization headers never
 * reach a log line. (pino redacts exact paths; `*.x` matches one level down.)
 */
export const LOG_REDACT_PATHS: readonly string[] = [
  'token',
  '*.token',
  'signature',
  '*.signature',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["x-farplay-signature"]',
  'req.query.token',
  'config.nodePrivateKey',
  'config.sessionPrivateKey',
  'config.studioApiKeys',
  'config.operatorToken',
  '*.privateKey',
];

/** Query parameters whose values never reach a log line (session tokens, session-key proofs, keys). */
const SECRET_QUERY = /^(token|proof|access_token|key|api_key|signature|sig)$/i;

/** `url` with the values of secret query parameters (`?token=`, `?proof=`…) replaced by `[REDACTED]`. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name);
      } catch {
        // a malformed name is kept as it is
      }
      return eq >= 0 && SECRET_QUERY.test(decoded) ? `${name}=[REDACTED]` : pair;
    })
    .join('&');
  return `${url.slice(0, q)}?${query}`;
}

/** The request fields a request log line carries (what fastify's own `req` serializer gives), url redacted. */
export function redactedRequest(req: {
  method?: string;
  url?: string;
  ip?: string;
  host?: string;
  socket?: { remotePort?: number | undefined } | null;
}): Record<string, unknown> {
  return {
    method: req.method,
    url: req.url === undefined ? undefined : redactUrl(req.url),
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}
