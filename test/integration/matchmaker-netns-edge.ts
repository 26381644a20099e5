// A minimal edge process for matchmaker-netns.test.ts, run inside a network namespace: the edge's
// probe endpoint (GET /v1/probe → 204, CORS) and the real edge/control client (signed registration,
// heartbeats). Args: matchmakerUrl, listenIp, region, lat, lon, capacity, the matchmaker's session public key
// (the deployment its messages are signed for). Prints {"id","url"} once up.
import { createServer } from 'node:http';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { startEdgeControl } from '../../edge/control/startEdgeControl.js';
import { FakeEdge } from '../tools/FakeEdge.js';

const [matchmakerUrl, ip, region, lat, lon, capacity, sessionPublicKey] = process.argv.slice(2) as string[];
const account = privateKeyToAccount(generatePrivateKey());
const server = createServer((req, res) => {
  res.setHeader('access-control-allow-origin', '*');
  res.writeHead(req.url?.startsWith('/v1/probe') ? 204 : 404);
  res.end();
});
server.keepAliveTimeout = 30_000;
server.listen(0, '0.0.0.0', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = `http://${ip}:${port}`;
  const edge = new FakeEdge({
    id: account.address,
    url,
    region: region as string,
    lat: Number(lat),
    lon: Number(lon),
    capacity: Number(capacity),
    sessionPublicKey: sessionPublicKey as string,
  });
  const control = startEdgeControl({
    edge,
    account,
    matchmakerUrl: matchmakerUrl as string,
    heartbeatMs: 300,
  });
  void control.registered.then(() =>
    process.stdout.write(`${JSON.stringify({ id: account.address.toLowerCase(), url })}\n`),
  );
  process.once('SIGTERM', () => {
    void control.close().then(() => process.exit(0));
  });
});
