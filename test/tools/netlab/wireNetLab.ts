import { ipBatch } from './ipBatch.js';

/** Where one host of a lab sits: its address, namespace (null = root), TAP name and MAC. */
export interface NetLabPlace {
  ip: string;
  netns: string | null;
  iface: string;
  mac: string;
}

/**
 * Moves each TAP (already created by the forwarder) into its host's new namespace and addresses it;
 * the `root` host's TAP stays in the root namespace. Each namespace is pushed to `createdNetns` as soon
 * as it exists, so a failed set-up can still remove it.
 */
export async function wireNetLab(layout: readonly NetLabPlace[], createdNetns: string[]): Promise<void> {
  // Static neighbour entries: the first packet between two hosts pays no ARP round trip (an edge
  // 40 ms away is never on the player's LAN), so the first probe already shows the configured RTT.
  const neighbours = (self: NetLabPlace): string[] =>
    layout
      .filter((l) => l !== self)
      .map((l) => `neigh replace ${l.ip} lladdr ${l.mac} dev ${self.iface} nud permanent`);
  const rootLines: string[] = [];
  for (const l of layout) {
    if (l.netns === null) {
      rootLines.push(
        `link set ${l.iface} address ${l.mac} addrgenmode none`,
        `addr add ${l.ip}/24 dev ${l.iface}`,
        `link set ${l.iface} up`,
        ...neighbours(l),
      );
    } else {
      rootLines.push(
        `link set ${l.iface} address ${l.mac}`,
        `netns add ${l.netns}`,
        `link set ${l.iface} netns ${l.netns}`,
      );
      createdNetns.push(l.netns);
    }
  }
  await ipBatch([], rootLines);
  await Promise.all(
    layout
      .filter((l) => l.netns !== null)
      .map((l) =>
        ipBatch(
          ['-n', l.netns as string],
          [
            'link set lo up',
            `link set ${l.iface} addrgenmode none`,
            `addr add ${l.ip}/24 dev ${l.iface}`,
            `link set ${l.iface} up`,
            ...neighbours(l),
          ],
        ),
      ),
  );
}
