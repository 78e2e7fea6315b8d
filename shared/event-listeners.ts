import type { EventName, EventPayloads } from './contract.js';

/**
 * Listeners of the contract's events, by name: what both hosts (the Electron
 * preload and the WebSocket client) hand to the renderer's `on`.
 */
export class EventListeners {
  private readonly byName = new Map<EventName, Set<(payload: never) => void>>();

  /** Add a listener; returns the function that removes it. */
  add<E extends EventName>(event: E, listener: (payload: EventPayloads[E]) => void): () => void {
    let set = this.byName.get(event);
    if (!set) this.byName.set(event, (set = new Set()));
    const l = listener as (payload: never) => void;
    set.add(l);
    return () => {
      set.delete(l);
    };
  }

  emit<E extends EventName>(event: E, payload: EventPayloads[E]): void {
    this.byName.get(event)?.forEach((l) => (l as (p: EventPayloads[E]) => void)(payload));
  }
}
