/** The part of bittorrent-dht (no bundled types) that dht-rendezvous.ts uses. */
declare module 'bittorrent-dht' {
  import { EventEmitter } from 'node:events';

  export interface DhtNodeAddress {
    host: string;
    port: number;
  }

  export interface DhtOptions {
    /** `false` for no bootstrap (this node is the first); a list of `host:port`; never left undefined (public routers). */
    bootstrap: string[] | DhtNodeAddress[] | false;
    host?: string;
    nodeId?: Buffer;
    maxPeers?: number;
    maxTables?: number;
  }

  export default class DHT extends EventEmitter {
    constructor(opts: DhtOptions);
    readonly nodeId: Buffer;
    readonly nodes: { count(): number; toArray(): (DhtNodeAddress & { id: Buffer })[] };
    listening: boolean;
    destroyed: boolean;
    listen(port?: number, address?: string, onListening?: () => void): void;
    address(): { address: string; family: string; port: number };
    announce(infoHash: Buffer | string, port: number, cb?: (err: Error | null) => void): void;
    lookup(infoHash: Buffer | string, cb?: (err: Error | null, nodesVisited: number) => void): () => void;
    addNode(node: DhtNodeAddress & { id?: Buffer }): void;
    destroy(cb?: () => void): void;
  }
}
