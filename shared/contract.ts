/**
 * The one contract between the peer and every front end (Electron IPC, the
 * headless WebSocket host, the renderer). Operation arguments are zod schemas,
 * so the same definition gives the runtime check and the TypeScript type.
 * Nothing else may restate these shapes: derive from here.
 */
import { z } from 'zod';
import type {
  DoctorReport,
  ImportProgress,
  KnownPeer,
  LocalFile,
  LogLine,
  PeersSnapshot,
  RemoteListing,
  SearchHit,
  Settings,
  Stats,
  StreamInfo,
  TransferInfo,
} from './types.js';
import { isSafeNetworkName, MEDIA_TYPES, PEER_ID_PATTERN } from './types.js';

const host = z.string().trim().min(1).max(255);
const port = z.number().int().min(1).max(65535);
const ttl = z.number().int().min(1).max(7);
const id = z.string().min(1).max(128);
const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
export const peerAddressSchema = z.object({ host, port, id: z.string().regex(PEER_ID_PATTERN).optional() });

const settingsPatchSchema = z
  .object({
    sharedDir: z.string().min(1).max(4096),
    downloadDir: z.string().min(1).max(4096),
    port: z.number().int().min(0).max(65535),
    host: z.string().max(255),
    bootstrap: z.array(z.string().max(300)).max(64),
    neighbourCap: z.number().int().min(1).max(64),
    uploadSlots: z.number().int().min(1).max(256),
    maxUploadRate: z.number().int().min(0),
    maxDownloadRate: z.number().int().min(0),
  })
  .partial()
  .strict();

/** A download to start: a search hit's name, hash and size, and where to get it. */
const transferStart = z
  .object({
    name: z.string().min(1).max(1024).refine(isSafeNetworkName, 'control characters or commas in the file name'),
    sha256: sha256.optional(),
    size: z.number().int().min(0).optional(),
    sources: z.array(peerAddressSchema).min(1).max(64),
  })
  .strict();

/** Operation name → argument schema. */
export const operationArgs = {
  'library:list': z.object({}).strict(),
  'remote:list': peerAddressSchema.strict(),
  'search:start': z.object({ query: z.string().trim().min(1).max(256), ttl, type: z.enum(MEDIA_TYPES).optional() }).strict(),
  'discover:start': z.object({ ttl }).strict(),
  'peers:list': z.object({}).strict(),
  'peers:add': peerAddressSchema.strict(),
  'peers:reset': z.object({}).strict(),
  /** Forget a known peer and its pinned ID (the way out of a refused pin), and close a link we dialled to it. */
  'peers:remove': z.object({ host, port }).strict(),
  'transfer:list': z.object({}).strict(),
  'transfer:start': transferStart,
  'transfer:pause': z.object({ id }).strict(),
  'transfer:resume': z.object({ id }).strict(),
  'transfer:cancel': z.object({ id }).strict(),
  'settings:get': z.object({}).strict(),
  'settings:set': settingsPatchSchema,
  /** Copy files (absolute paths on the peer's machine) into the shared folder. */
  'library:import': z.object({ paths: z.array(z.string().min(1).max(4096)).min(1).max(1000) }).strict(),
  'stats:get': z.object({}).strict(),
  /** Play a running or finished download (`transferId`), or a search hit (starting its download with streaming priority). */
  'stream:open': z.union([z.object({ transferId: id }).strict(), transferStart]),
  'stream:close': z.object({ id }).strict(),
  /** The network doctor: what works for being found and reached, and what to do about what does not. */
  'network:doctor': z.object({}).strict(),
} as const;

/** Operation name → result type. */
interface OperationResults {
  'library:list': LocalFile[];
  'remote:list': RemoteListing;
  'search:start': { searchId: string };
  'discover:start': { discoverId: string };
  'peers:list': PeersSnapshot;
  'peers:add': KnownPeer;
  'peers:reset': KnownPeer[];
  'peers:remove': PeersSnapshot;
  'transfer:list': TransferInfo[];
  'transfer:start': TransferInfo;
  'transfer:pause': TransferInfo;
  'transfer:resume': TransferInfo;
  'transfer:cancel': TransferInfo;
  'settings:get': Settings;
  'settings:set': Settings;
  'library:import': { imported: string[] };
  'stats:get': Stats;
  'stream:open': StreamInfo;
  'stream:close': { closed: boolean };
  'network:doctor': DoctorReport;
}

export type OperationName = keyof typeof operationArgs;
export type OperationArgs<K extends OperationName> = z.input<(typeof operationArgs)[K]>;
export type OperationResult<K extends OperationName> = OperationResults[K];

/** Push events: name → payload. */
export interface EventPayloads {
  'library:changed': LocalFile[];
  'peer:found': KnownPeer;
  'peer:lost': KnownPeer;
  'peers:changed': PeersSnapshot;
  'search:hit': SearchHit;
  'transfer:progress': TransferInfo;
  'transfer:done': TransferInfo;
  'transfer:failed': TransferInfo;
  'import:progress': ImportProgress;
  stats: Stats;
  log: LogLine;
  /** A stream's verified bytes grew, or it became complete (a few times a second at most). */
  'stream:progress': StreamInfo;
}
export type EventName = keyof EventPayloads;
export const EVENT_NAMES: readonly EventName[] = [
  'library:changed',
  'peer:found',
  'peer:lost',
  'peers:changed',
  'search:hit',
  'transfer:progress',
  'transfer:done',
  'transfer:failed',
  'import:progress',
  'stats',
  'log',
  'stream:progress',
];

/** The API every front end sees: one method per operation, plus event subscription. */
export type MacTellaApi = {
  invoke<K extends OperationName>(op: K, args: OperationArgs<K>): Promise<OperationResult<K>>;
  on<E extends EventName>(event: E, listener: (payload: EventPayloads[E]) => void): () => void;
};

/** Errors crossing the boundary are plain `{ message }`; this parses operation args or throws. */
export function parseOperationArgs<K extends OperationName>(op: K, args: unknown): z.output<(typeof operationArgs)[K]> {
  const schema = operationArgs[op];
  if (!schema) throw new Error(`unknown operation: ${String(op)}`);
  const parsed = schema.safeParse(args ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`invalid arguments for ${op}: ${issue?.path.join('.') || 'args'} ${issue?.message ?? ''}`.trim());
  }
  return parsed.data as z.output<(typeof operationArgs)[K]>;
}

export function isOperationName(x: unknown): x is OperationName {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(operationArgs, x);
}

/** Headless host wire messages (WebSocket), derived from the same maps. */
export type WsClientMessage = { kind: 'invoke'; id: number; op: OperationName; args: unknown };
export type WsServerMessage =
  | { kind: 'result'; id: number; ok: true; result: unknown }
  | { kind: 'result'; id: number; ok: false; error: string }
  | { [E in EventName]: { kind: 'event'; event: E; payload: EventPayloads[E] } }[EventName];
