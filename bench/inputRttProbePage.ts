// The minimal page of bench/inputRtt.ts, as JavaScript source run in Chromium (this tsconfig has no DOM lib).
// `startProbe(options)` connects one peer and pings on the input channel every `pingMs` like the player
// (protocol/input.ts: 13-byte ping with performance.now() as t; the edge echoes it as a pong):
//   echo:  the page offers a data channel only; `window.__echoAnswer(offer)` (a playwright binding) answers
//          with a bare werift peer in the bench process
//   edge*: the page answers the edge's offer over its signalling WebSocket (as the player does); `video`
//          plays the stream in a <video>, else the tracks are received and decoded but shown nowhere;
//          `stats`: 'with-ping' calls getStats() right after each ping (in the same task), 'apart' half a
//          ping period later (the player reads getStats every 500 ms and pings every 500 ms); 'paired'
//          after every other ping (even seq), so both kinds share the same moments of machine load
//   pair:  the floor without any edge: a second RTCPeerConnection in the same page answers and echoes
//          (echoAnswerSource), so a ping crosses Chromium's send and receive hops twice
//   echo with `window.__echoAnswer` bound to another tab running echoAnswerSource: the same, page to page
//   mouseHz: also send a mouseMove every 1000 / mouseHz ms on its own timer (input flowing, as in play)
// `window.__probe.take()` returns and clears the samples: [RTT ms, the ping's seq].
import { DEPENDENCY_DESCRIPTOR_URI } from '../edge/session/rtpHeaderExtensions.js';

/**
 * A Chromium echo peer for the floor modes: answers `offer` (full ICE gathering, no trickle) with the same
 * negotiated input channel and echoes each 13-byte ping as a pong from its message handler, as an edge does.
 */
export const echoAnswerSource = `async (offer) => {
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  (window.__echoPeers ??= []).push(pc);
  const channel = pc.createDataChannel('input', { negotiated: true, id: 0, ordered: false, maxRetransmits: 0 });
  channel.binaryType = 'arraybuffer';
  channel.onmessage = (event) => {
    const data = event.data;
    if (!(data instanceof ArrayBuffer) || data.byteLength !== 13) return;
    const pong = new Uint8Array(data);
    if (pong[0] !== 8) return;
    pong[0] = 9;
    channel.send(pong);
  };
  await pc.setRemoteDescription({ type: 'offer', sdp: offer });
  await pc.setLocalDescription(await pc.createAnswer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') resolve();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve();
  });
  return pc.localDescription.sdp;
}`;

export const probePageSource = `async ({ mode, signalUrl, pingMs, video, stats, mouseHz = 0 }) => {
  if (mode === 'pair') window.__echoAnswer = ${echoAnswerSource};
  const samples = [];
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  const channel = pc.createDataChannel('input', { negotiated: true, id: 0, ordered: false, maxRetransmits: 0 });
  channel.binaryType = 'arraybuffer';
  const ping = new Uint8Array(13);
  const view = new DataView(ping.buffer);
  let seq = 0;
  channel.onmessage = (event) => {
    const data = event.data;
    if (!(data instanceof ArrayBuffer) || data.byteLength !== 13) return;
    const pong = new DataView(data);
    if (pong.getUint8(0) !== 9) return;
    const rtt = performance.now() - pong.getFloat64(5, true);
    if (rtt >= 0 && rtt < 60000) samples.push([rtt, pong.getUint32(1, true)]);
  };
  let timer;
  let mouseTimer;
  channel.onopen = () => {
    const send = () => {
      seq = (seq + 1) >>> 0;
      view.setUint8(0, 8);
      view.setUint32(1, seq, true);
      view.setFloat64(5, performance.now(), true);
      channel.send(ping);
    };
    const tick = () => {
      send();
      if (stats === 'with-ping' || (stats === 'paired' && seq % 2 === 0)) void pc.getStats();
      if (stats === 'apart') setTimeout(() => void pc.getStats(), pingMs / 2);
    };
    tick();
    timer = setInterval(tick, pingMs);
    if (mouseHz > 0) {
      // Play going on: a mouse moved at mouseHz (protocol/input.ts mouseMove, 13 bytes), on its own timer.
      const move = new Uint8Array(13);
      const moveView = new DataView(move.buffer);
      let x = 0;
      mouseTimer = setInterval(() => {
        seq = (seq + 1) >>> 0;
        x = (x + 300) & 0xffff;
        moveView.setUint8(0, 3);
        moveView.setUint32(1, seq, true);
        moveView.setInt16(5, 2, true);
        moveView.setInt16(7, 1, true);
        moveView.setUint16(9, x, true);
        moveView.setUint16(11, 32768, true);
        channel.send(move);
      }, 1000 / mouseHz);
    }
  };
  window.__probe = {
    take: () => samples.splice(0),
    open: () => channel.readyState === 'open',
    close: () => {
      clearInterval(timer);
      clearInterval(mouseTimer);
      pc.close();
      for (const peer of window.__echoPeers ?? []) peer.close();
    },
  };
  pc.ontrack = (event) => {
    for (const receiver of pc.getReceivers()) {
      try { receiver.jitterBufferTarget = 0; } catch {}
    }
    if (!video || event.track.kind !== 'video') return;
    const element = document.createElement('video');
    element.muted = true;
    element.autoplay = true;
    element.playsInline = true;
    element.srcObject = new MediaStream([event.track]);
    document.body.append(element);
  };
  if (mode === 'echo' || mode === 'pair') {
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((resolve) => {
      if (pc.iceGatheringState === 'complete') resolve();
      pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve();
    });
    const answer = await window.__echoAnswer(pc.localDescription.sdp);
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    return;
  }
  const socket = new WebSocket(signalUrl);
  const pending = [];
  let remoteSet = false;
  pc.onicecandidate = (event) => {
    const c = event.candidate;
    socket.send(JSON.stringify(c === null ? { type: 'candidate', candidate: null }
      : { type: 'candidate', candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex }));
  };
  socket.onmessage = async (event) => {
    const message = JSON.parse(event.data);
    if (message.type === 'offer') {
      await pc.setRemoteDescription({ type: 'offer', sdp: message.sdp });
      remoteSet = true;
      for (const c of pending.splice(0)) await pc.addIceCandidate(c);
      // As the player (player/src/negotiateDependencyDescriptor.ts): accept the edge's Dependency Descriptor.
      for (const t of pc.getTransceivers()) {
        if (t.receiver.track.kind !== 'video' || !t.getHeaderExtensionsToNegotiate) continue;
        const list = t.getHeaderExtensionsToNegotiate();
        const dd = list.find((e) => e.uri === '${DEPENDENCY_DESCRIPTOR_URI}');
        if (dd) { dd.direction = 'sendrecv'; t.setHeaderExtensionsToNegotiate(list); }
      }
      await pc.setLocalDescription(await pc.createAnswer());
      socket.send(JSON.stringify({ type: 'answer', sdp: pc.localDescription.sdp }));
    } else if (message.type === 'candidate' && message.candidate) {
      const c = { candidate: message.candidate, sdpMid: message.sdpMid, sdpMLineIndex: message.sdpMLineIndex };
      if (remoteSet) await pc.addIceCandidate(c); else pending.push(c);
    }
  };
}`;
