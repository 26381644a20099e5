/** What the edge's systemd unit is made of (all paths absolute). */
export interface SystemdUnitInput {
  /** The Node binary that runs the CLI (process.execPath at install time). */
  nodePath: string;
  /** edge/cli/farplay-edge.mjs of this installation. */
  cliPath: string;
  /** The config file `farplay-edge init` wrote. */
  configFile: string;
  /** The node keystore. */
  keystoreFile: string;
  /** A file whose first line is the keystore passphrase (a service cannot ask for it). */
  passphraseFile: string;
  /** The signed capability snapshot, when `farplay-edge bench` has written one. */
  capabilityFile?: string;
  /** The edge README of this installation (the unit's Documentation=). */
  readmePath: string;
  /** Service name without `.service`; also the state, cache and runtime directory names. */
  name: string;
  /** Device nodes the edge may open (everything else is refused): /dev/uinput, the NVIDIA ones. */
  devices: readonly string[];
  /** Also allow NVIDIA's character devices by class (nvidia-frontend, nvidia-uvm, nvidia-caps). */
  nvidia: boolean;
}

/** A path as a unit-file word: `%` doubled so systemd reads no specifier in it (callers refuse blanks and quotes). */
function literal(path: string): string {
  return path.replace(/%/g, '%%');
}

/**
 * The edge's system-level systemd unit: started at boot by the system manager (not by a desktop session),
 * restarted on failure, as a dynamic unprivileged user with no capabilities. The config, node keystore,
 * passphrase and capability snapshot are handed over as credentials (systemd reads them as root at each start,
 * so they may stay in the operator's 0700 folder and edits apply at the next restart); the only writable
 * places are the unit's own state, cache and runtime directories and a private /tmp.
 */
export function renderSystemdUnit(input: SystemdUnitInput): string {
  const credentials = [
    `LoadCredential=edge.json:${literal(input.configFile)}`,
    `LoadCredential=node-key.json:${literal(input.keystoreFile)}`,
    `LoadCredential=passphrase:${literal(input.passphraseFile)}`,
    ...(input.capabilityFile ? [`LoadCredential=capability.json:${literal(input.capabilityFile)}`] : []),
  ];
  const environment = [
    'FARPLAY_EDGE_CONFIG_FILE=%d/edge.json',
    'FARPLAY_EDGE_KEYSTORE_FILE=%d/node-key.json',
    'FARPLAY_EDGE_KEYSTORE_PASSPHRASE_FILE=%d/passphrase',
    ...(input.capabilityFile ? ['FARPLAY_EDGE_CAPABILITY_FILE=%d/capability.json'] : []),
    `FARPLAY_EDGE_PACKAGE_CACHE_DIR=%C/${input.name}/packages`,
    `FARPLAY_EDGE_QOS_OUTBOX_DIR=%S/${input.name}/qos-outbox`,
    `HOME=%S/${input.name}`,
    `XDG_RUNTIME_DIR=%t/${input.name}`,
    'NODE_ENV=production',
  ];
  const devices = [
    ...input.devices.map((device) => `DeviceAllow=${literal(device)} rw`),
    ...(input.nvidia
      ? [
          'DeviceAllow=char-nvidia-frontend rw',
          'DeviceAllow=char-nvidia-uvm rw',
          'DeviceAllow=char-nvidia-caps rw',
        ]
      : []),
  ];
  const lines = [
    '# Written by `farplay-edge service install`; rerun it to rewrite this file.',
    '[Unit]',
    'Description=Farplay edge node',
    `Documentation=file://${literal(input.readmePath)}`,
    'After=network-online.target',
    'Wants=network-online.target',
    'StartLimitIntervalSec=300',
    'StartLimitBurst=10',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${literal(input.nodePath)} ${literal(input.cliPath)} run`,
    'Restart=on-failure',
    'RestartSec=5s',
    'TimeoutStopSec=30s',
    // An unprivileged user allocated for the unit (no login, no home, nothing left behind).
    'DynamicUser=yes',
    `StateDirectory=${input.name}`,
    `CacheDirectory=${input.name}`,
    `RuntimeDirectory=${input.name}`,
    `WorkingDirectory=%S/${input.name}`,
    ...credentials,
    ...environment.map((pair) => `Environment=${pair}`),
    'UMask=0077',
    'LimitNOFILE=65536',
    // Devices: only these; no NVIDIA GPU or uinput → the edge encodes with x264 and games get no gamepad.
    'DevicePolicy=closed',
    ...devices,
    // Hardening. Native games run in bubblewrap, which needs user/mount/pid/net namespaces and mount(2) inside
    // them, so neither RestrictNamespaces= nor a SystemCallFilter= is set; the game quota lives in a cgroup
    // under the edge's own (Delegate=), so the cgroup tree stays writable (no ProtectControlGroups=). Node's
    // JIT needs writable+executable memory (no MemoryDenyWriteExecute=).
    'Delegate=cpu memory pids',
    'NoNewPrivileges=yes',
    'CapabilityBoundingSet=',
    'AmbientCapabilities=',
    'ProtectSystem=strict',
    'ProtectHome=read-only',
    'PrivateTmp=yes',
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectKernelLogs=yes',
    'ProtectClock=yes',
    'ProtectHostname=yes',
    'ProtectProc=invisible',
    'RestrictSUIDSGID=yes',
    'RestrictRealtime=yes',
    'LockPersonality=yes',
    'RemoveIPC=yes',
    'SystemCallArchitectures=native',
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ];
  return lines.join('\n');
}
