import type { EventName, EventPayloads, MacTellaApi, OperationArgs, OperationName, OperationResult } from '../../shared/contract.js';
import type { ImportProgress } from '../../shared/types.js';
import type { ConnectionState, Host } from '../../renderer/src/host/host.js';

type Handlers = { [K in OperationName]?: (args: OperationArgs<K>) => OperationResult<K> | Promise<OperationResult<K>> };

/** A host whose operations are test functions and whose events tests emit by hand. */
export class FakeHost implements Host {
  readonly calls: { op: OperationName; args: unknown }[] = [];
  readonly listeners = new Map<EventName, Set<(p: never) => void>>();
  readyCalls = 0;
  private connListeners = new Set<(s: ConnectionState) => void>();
  showInFolder?: (id: string) => Promise<void>;
  openFile?: (id: string) => Promise<void>;

  constructor(
    public handlers: Handlers = {},
    private state: ConnectionState = 'open',
  ) {}

  readonly api: MacTellaApi = {
    invoke: async <K extends OperationName>(op: K, args: OperationArgs<K>): Promise<OperationResult<K>> => {
      this.calls.push({ op, args });
      const h = this.handlers[op] as ((a: OperationArgs<K>) => OperationResult<K> | Promise<OperationResult<K>>) | undefined;
      if (!h) throw new Error(`no fake for ${op}`);
      return h(args);
    },
    on: (event, listener) => {
      if (!this.listeners.has(event)) this.listeners.set(event, new Set());
      this.listeners.get(event)!.add(listener as (p: never) => void);
      return () => this.listeners.get(event)!.delete(listener as (p: never) => void);
    },
  };

  emit<E extends EventName>(event: E, payload: EventPayloads[E]): void {
    this.listeners.get(event)?.forEach((l) => (l as (p: EventPayloads[E]) => void)(payload));
  }

  mediaUrl(name: string): string {
    return `media://${name}`;
  }

  streamUrl(id: string): string {
    return `stream:${id}`;
  }

  imported: File[] = [];
  async importFiles(files: readonly File[], onProgress: (p: ImportProgress) => void): Promise<string[]> {
    this.imported.push(...files);
    for (const f of files) onProgress({ name: f.name, bytes: f.size, total: f.size, done: true });
    return files.map((f) => f.name);
  }

  ready(): void {
    this.readyCalls++;
  }

  onConnectionChange(listener: (state: ConnectionState) => void): () => void {
    this.connListeners.add(listener);
    listener(this.state);
    return () => this.connListeners.delete(listener);
  }

  setConnection(s: ConnectionState): void {
    this.state = s;
    this.connListeners.forEach((l) => l(s));
  }

  callsOf(op: OperationName): unknown[] {
    return this.calls.filter((c) => c.op === op).map((c) => c.args);
  }
}

export const flush = () => new Promise((r) => setTimeout(r, 0));
