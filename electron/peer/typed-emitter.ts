import { EventEmitter } from 'node:events';

/** A Node EventEmitter whose event names and payloads are checked against a map. */
export class TypedEmitter<M extends object> {
  private readonly ee = new EventEmitter();
  constructor() {
    // Every front end subscribes to every event; a few dozen listeners is normal.
    this.ee.setMaxListeners(200);
  }
  on<K extends keyof M & string>(event: K, listener: (payload: M[K]) => void): () => void {
    this.ee.on(event, listener);
    return () => this.ee.off(event, listener);
  }
  once<K extends keyof M & string>(event: K, listener: (payload: M[K]) => void): () => void {
    this.ee.once(event, listener);
    return () => this.ee.off(event, listener);
  }
  emit<K extends keyof M & string>(event: K, payload: M[K]): void {
    this.ee.emit(event, payload);
  }
  /** Subscribe to every event with one callback (used by the IPC and WebSocket adapters). */
  onAny(names: readonly (keyof M & string)[], listener: <K extends keyof M & string>(event: K, payload: M[K]) => void): () => void {
    const offs = names.map((n) => this.on(n, (p) => listener(n, p)));
    return () => offs.forEach((off) => off());
  }
}
