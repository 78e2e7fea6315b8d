import type { OperationArgs } from '../../../shared/contract.js';
import type { TransferInfo } from '../../../shared/types.js';
import { humanError } from '../lib/errors.js';
import type { SliceFactory } from './types.js';

export interface TransfersSlice {
  /** Transfers by id. */
  transfers: Record<string, TransferInfo>;
  /** Ids, newest first. */
  transferOrder: string[];
  refreshTransfers(): Promise<void>;
  /** Start a download; resolves to the transfer, or undefined when it could not start (a notice says why). */
  download(request: OperationArgs<'transfer:start'>): Promise<TransferInfo | undefined>;
  pauseTransfer(id: string): Promise<void>;
  resumeTransfer(id: string): Promise<void>;
  cancelTransfer(id: string): Promise<void>;
  showInFolder(id: string): Promise<void>;
  applyTransfer(t: TransferInfo): void;
}

/** Finished transfers kept in the list; the oldest finished ones go first. */
const MAX_TRANSFERS = 500;

const isActive = (t: TransferInfo) => t.state === 'running' || t.state === 'queued' || t.state === 'paused';

export const createTransfersSlice: SliceFactory<TransfersSlice> = (host) => (set, get) => {
  const act = async (what: string, id: string, call: () => Promise<TransferInfo>) => {
    try {
      get().applyTransfer(await call());
    } catch (err) {
      const name = get().transfers[id]?.name ?? 'the transfer';
      get().notify('error', humanError(err, `${what} ${name}`));
    }
  };
  return {
    transfers: {},
    transferOrder: [],
    async refreshTransfers() {
      try {
        const list = await host.api.invoke('transfer:list', {});
        set((s) => {
          const transfers = { ...s.transfers };
          const order = [...s.transferOrder];
          for (const t of list) {
            if (!transfers[t.id]) order.unshift(t.id);
            transfers[t.id] = t;
          }
          return { transfers, transferOrder: order };
        });
      } catch (err) {
        get().notify('error', humanError(err, 'list the transfers'));
      }
    },
    async download(request) {
      try {
        const t = await host.api.invoke('transfer:start', request);
        get().applyTransfer(t);
        return t;
      } catch (err) {
        get().notify('error', humanError(err, `download ${request.name}`));
        return undefined;
      }
    },
    pauseTransfer: (id) => act('pause', id, () => host.api.invoke('transfer:pause', { id })),
    resumeTransfer: (id) => act('resume', id, () => host.api.invoke('transfer:resume', { id })),
    cancelTransfer: (id) => act('cancel', id, () => host.api.invoke('transfer:cancel', { id })),
    async showInFolder(id) {
      try {
        await host.showInFolder?.(id);
      } catch (err) {
        get().notify('error', humanError(err, 'show the file'));
      }
    },
    applyTransfer: (t) =>
      set((s) => {
        const known = s.transfers[t.id] !== undefined;
        const transfers = { ...s.transfers, [t.id]: t };
        let order = known ? s.transferOrder : [t.id, ...s.transferOrder];
        if (order.length > MAX_TRANSFERS) {
          const drop = order.filter((id) => !isActive(transfers[id]!)).slice(MAX_TRANSFERS - order.length);
          for (const id of drop) delete transfers[id];
          order = order.filter((id) => transfers[id] !== undefined);
        }
        return { transfers, transferOrder: order };
      }),
  };
};
