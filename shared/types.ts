/**
 * Data types shared by the peer (main process / Node) and the renderer.
 * Plain data only: everything here crosses IPC or a WebSocket as JSON.
 */

export const MEDIA_TYPES = ['video', 'music', 'picture'] as const;

/**
 * Characters refused in a file name that crosses the network: C0 and C1
 * controls and DEL (line and escape injection), bidi overrides and isolates
 * and line separators (names that display as something else), and the comma
 * (the v1 field separator).
 */
// eslint-disable-next-line no-control-regex
const UNSAFE_NAME_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069,]/;

/** True if a file name may be sent to or accepted from the network. */
export function isSafeNetworkName(name: string): boolean {
  return !UNSAFE_NAME_CHARS.test(name);
}
export type MediaType = (typeof MEDIA_TYPES)[number];

export type ProtocolVersion = 'v1' | 'v2' | 'unknown';

export interface PeerAddress {
  host: string;
  port: number;
  /**
   * The peer ID a v2 link to this address must prove (TLS 1.3, certificate
   * both ways): pinned in the known-peer list, or named by the hit or listing
   * this address came from. Absent for seed (v1) peers and not-yet-met ones.
   */
  id?: string;
}

/** The shape of a peer ID: eight groups of seven base32 characters (its check characters are verified by the peer). */
export const PEER_ID_PATTERN = /^([A-Z2-7]{7}-){7}[A-Z2-7]{7}$/;

/** A file in our own shared folder. `name` is the path relative to the folder, with `/`. */
export interface LocalFile {
  name: string;
  size: number;
  type: MediaType;
  sha256: string;
  mtimeMs: number;
}

/** A file listed by a remote peer. v1 peers give no hash. */
export interface RemoteFile {
  name: string;
  size: number;
  type: MediaType;
  sha256?: string;
}

export interface RemoteListing {
  peer: PeerAddress;
  protocol: ProtocolVersion;
  files: RemoteFile[];
}

/** How a peer joined the known-peer list; `nearby`: seen on the LAN (mDNS); `online`: found on the DHT. */
export type PeerSource = 'bootstrap' | 'user' | 'discovered' | 'nearby' | 'online';

export interface KnownPeer extends PeerAddress {
  protocol: ProtocolVersion;
  source: PeerSource;
  /** Why the last link to this address was refused: it presented another ID than the pinned one. */
  refused?: string;
  /** True while a v2 neighbour connection to or from this peer is open. */
  connected: boolean;
  lastSeen?: number;
  files?: number;
  bytes?: number;
}

export interface NeighbourInfo extends PeerAddress {
  peerId: string;
  direction: 'in' | 'out';
  since: number;
}

/** This peer's ID, its known-peer list and its neighbour links (`peers:list`, `peers:changed`). */
export interface PeersSnapshot {
  /** Our own peer ID, to give to others as ID@HOST:PORT. */
  selfId: string;
  known: KnownPeer[];
  neighbours: NeighbourInfo[];
}

export interface SearchHit {
  searchId: string;
  peer: PeerAddress;
  protocol: ProtocolVersion;
  name: string;
  size?: number;
  type?: MediaType;
  sha256?: string;
  hops?: number;
  /** Neighbours could not dial the responder back: it cannot take incoming connections. */
  firewalled?: boolean;
}

/**
 * A file the player reads while it arrives (`stream:open`), or a complete
 * one. Only verified bytes are ever served from it.
 */
export interface StreamInfo {
  id: string;
  name: string;
  type: MediaType;
  size: number;
  /** The download it reads from; absent when it plays a complete file. */
  transferId?: string;
  /** Verified bytes as `[start, end)` pairs, sorted. */
  verified: [number, number][];
  /** Every byte is here and verified. */
  complete: boolean;
}

type TransferState = 'queued' | 'running' | 'paused' | 'done' | 'failed' | 'cancelled';

/**
 * How a download reaches its source: dialled directly, by the source dialling
 * us (PUSH), or spliced through a relay (`via` is the relay's peer ID).
 */
export interface TransferRoute {
  kind: 'direct' | 'push' | 'relay';
  via?: string;
}

export interface TransferInfo {
  id: string;
  direction: 'down' | 'up';
  name: string;
  sha256?: string;
  state: TransferState;
  bytes: number;
  total: number;
  /** Bytes per second, smoothed. */
  speed: number;
  /** Seconds left, or null when unknown. */
  eta: number | null;
  sources: PeerAddress[];
  /** Final path of a finished download (downloads only). */
  path?: string;
  /** Position in the remote upload queue, when queued there. */
  queuePosition?: number;
  error?: string;
  verified?: boolean;
  /** How a download reached its source, once it did; a push or a relay wins over direct. */
  route?: TransferRoute;
}

export interface Stats {
  messagesIn: Record<string, number>;
  messagesOut: Record<string, number>;
  duplicatesDropped: number;
  drops: Record<string, number>;
  bytesUp: number;
  bytesDown: number;
  connectBacks: number;
  neighbours: number;
  knownPeers: number;
}

/** Stats before anything happened. */
export function emptyStats(): Stats {
  return {
    messagesIn: {},
    messagesOut: {},
    duplicatesDropped: 0,
    drops: {},
    bytesUp: 0,
    bytesDown: 0,
    connectBacks: 0,
    neighbours: 0,
    knownPeers: 0,
  };
}

export interface Settings {
  sharedDir: string;
  downloadDir: string;
  port: number;
  host: string;
  bootstrap: string[];
  neighbourCap: number;
  uploadSlots: number;
  /** Bytes per second; 0 means unlimited. */
  maxUploadRate: number;
  maxDownloadRate: number;
  /** How this peer is found (LAN, port mapping, DHT); takes effect at the next start. */
  reach?: ReachSettings;
}

/** The outcome of one network-doctor check. */
export type DoctorStatus = 'ok' | 'warn' | 'fail' | 'off';

/** One check of the network doctor: what was found, and what to do when it is not ok. */
export interface DoctorCheck {
  name: string;
  status: DoctorStatus;
  detail: string;
  advice?: string;
}

/** The network doctor's report: listening, LAN, port mapping, reachability, DHT, relays. */
export interface DoctorReport {
  checks: DoctorCheck[];
}

/** The reach switches: off in the CLI and `serve` unless given, on (but relay) in the desktop app. */
export interface ReachSettings {
  /** Announce and browse on the LAN by mDNS (`--lan`). */
  lan: boolean;
  /** Map the port on the router by NAT-PMP / UPnP (`--upnp`). */
  upnp: boolean;
  /** Meet on the BitTorrent DHT (`--dht`). */
  dht: boolean;
  /** DHT nodes to start from (`--dht-bootstrap HOST:PORT`, repeatable). */
  dhtBootstrap: string[];
  /** The DHT network name; a private name means only friends meet. */
  networkName: string;
  /** Relay for others when both ends are firewalled (`--no-relay` turns it off). */
  relay: boolean;
}

export interface ImportProgress {
  name: string;
  bytes: number;
  total: number;
  done: boolean;
  error?: string;
}

export interface LogLine {
  level: 'info' | 'warn' | 'error';
  msg: string;
  time: number;
}
