// `npm run keygen`: prints fresh keys for a deployment — the matchmaker's Ed25519 session-token key pair
// (FARPLAY_MM_SESSION_PRIVATE_KEY, shared by every matchmaker instance) and an edge node key
// (FARPLAY_EDGE_NODE_PRIVATE_KEY; its address is the edge's id).
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { generateSessionKeyPair } from '../protocol/sessionToken.js';

const session = generateSessionKeyPair();
const node = generatePrivateKey();
console.log(`FARPLAY_MM_SESSION_PRIVATE_KEY=${session.privateKey}`);
console.log(`# matchmaker session public key (edges fetch it from GET /v1/matchmaker): ${session.publicKey}`);
console.log(`FARPLAY_EDGE_NODE_PRIVATE_KEY=${node}`);
console.log(`# edge id: ${privateKeyToAccount(node).address}`);
