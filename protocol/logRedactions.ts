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
