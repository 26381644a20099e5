import { fork } from 'node:child_process';
import dgram from 'node:dgram';
import { sleep } from './benchCommon.js';

/** The echo server, run in a child process: every datagram goes straight back to its sender. */
const ECHO_SERVER = `
const socket = require('node:dgram').createSocket('udp4');
socket.on('message', (message, from) => socket.send(message, from.port, from.address));
socket.bind(0, '127.0.0.1', () => process.send(socket.address().port));
process.on('disconnect', () => process.exit(0));
`;

/**
 * The raw UDP floor for `bench:input-rtt --modes udp`: RTTs (ms) of a 13-byte datagram sent every `pingMs`
 * for `durationMs` from this process to a plain dgram echo in another Node process on loopback — two event
 * loops woken from idle per ping, as for the edge, with no DTLS, SCTP or Chromium.
 */
export async function udpEchoRtts(pingMs: number, durationMs: number): Promise<number[]> {
  const child = fork('-e', [ECHO_SERVER], { execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  // fork('-e', …) runs `node -e <source>`: the module path slot carries the flag.
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message) => resolve(Number(message)));
    child.once('error', reject);
  });
  const socket = dgram.createSocket('udp4');
  const samples: number[] = [];
  const ping = Buffer.alloc(13);
  socket.on('message', (message) => {
    if (message.length === 13) samples.push(performance.now() - message.readDoubleLE(5));
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  try {
    const end = performance.now() + durationMs;
    while (performance.now() < end) {
      ping.writeDoubleLE(performance.now(), 5);
      socket.send(ping, port, '127.0.0.1');
      await sleep(pingMs);
    }
    await sleep(50);
  } finally {
    socket.close();
    child.disconnect();
    child.kill();
  }
  return samples;
}
