import { ArrowDown, ArrowUp, Copy, MessagesSquare, Network } from 'lucide-react';
import type { Stats } from '../../../shared/types.js';
import { useApp } from '../store/index.js';
import { formatBytes, formatCount, sumCounts as sum } from '../lib/format.js';

/** The bottom line: neighbours, traffic and message counters, always in view. */
export function StatusBar() {
  const stats: Stats | null = useApp((s) => s.stats);
  return (
    <footer className="status-bar" aria-label="Network statistics">
      <span title="Neighbour connections">
        <Network size={14} aria-hidden="true" /> {stats?.neighbours ?? 0} {stats?.neighbours === 1 ? 'neighbour' : 'neighbours'}
      </span>
      <span title="Bytes uploaded">
        <ArrowUp size={14} aria-hidden="true" /> {formatBytes(stats?.bytesUp ?? 0)} up
      </span>
      <span title="Bytes downloaded">
        <ArrowDown size={14} aria-hidden="true" /> {formatBytes(stats?.bytesDown ?? 0)} down
      </span>
      <span title="Overlay messages received and sent">
        <MessagesSquare size={14} aria-hidden="true" /> {formatCount(sum(stats?.messagesIn))} in · {formatCount(sum(stats?.messagesOut))}{' '}
        out
      </span>
      <span title="Duplicate messages dropped">
        <Copy size={14} aria-hidden="true" /> {formatCount(stats?.duplicatesDropped ?? 0)} duplicates
      </span>
    </footer>
  );
}
