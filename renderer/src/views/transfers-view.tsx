import { ArrowDownUp, ArrowDown, ArrowUp, FolderOpen, Pause, Play, PlayCircle, X } from 'lucide-react';
import { useShallow } from 'zustand/react/shallow';
import type { TransferInfo } from '../../../shared/types.js';
import { EmptyState } from '../components/empty-state.js';
import { IconButton } from '../components/icon-button.js';
import { ProgressBar } from '../components/progress-bar.js';
import { ViewHeader } from '../components/view-header.js';
import { formatBytes, formatEta, formatSpeed, transferPeersText } from '../lib/format.js';
import { useApp } from '../store/index.js';

const STATE_LABELS: Record<TransferInfo['state'], string> = {
  queued: 'Queued',
  running: 'Running',
  paused: 'Paused',
  done: 'Done',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

function describe(t: TransferInfo): string {
  const of = `${formatBytes(t.bytes)} of ${formatBytes(t.total)}`;
  switch (t.state) {
    case 'running':
      return `${of} · ${formatSpeed(t.speed)}${t.eta !== null && Number.isFinite(t.eta) ? ` · ${formatEta(t.eta)} left` : ''}`;
    case 'queued':
      return t.queuePosition !== undefined ? `Waiting for a free upload slot (position ${t.queuePosition})` : 'Waiting to start';
    case 'paused':
      return `${of} · paused; resume to continue where it stopped`;
    case 'done':
      return `${formatBytes(t.total)}${t.verified ? ' · verified by SHA-256' : ''}`;
    case 'failed':
      return t.error ?? 'The transfer failed.';
    case 'cancelled':
      return `Cancelled at ${of}`;
  }
}

function TransferCard({ t }: { t: TransferInfo }) {
  const { pauseTransfer, resumeTransfer, cancelTransfer, showInFolder, play } = useApp(
    useShallow((s) => ({
      pauseTransfer: s.pauseTransfer,
      resumeTransfer: s.resumeTransfer,
      cancelTransfer: s.cancelTransfer,
      showInFolder: s.showInFolder,
      play: s.play,
    })),
  );
  // Peers share only media, so every download can be played (the peer refuses anything else).
  const playable = t.direction === 'down' && t.state !== 'cancelled';
  const canShow = useApp((s) => s.canShowInFolder);
  const active = t.state === 'running' || t.state === 'queued' || t.state === 'paused';
  const tone = t.state === 'failed' ? 'danger' : t.state === 'done' ? 'success' : t.state === 'running' ? 'accent' : 'muted';
  const Dir = t.direction === 'down' ? ArrowDown : ArrowUp;
  return (
    <li
      className={`transfer card transfer--${t.state}`}
      data-testid="transfer"
      aria-label={`${t.direction === 'down' ? 'Download' : 'Upload'} ${t.name}`}
    >
      <div className="transfer__head">
        <span className={`transfer__dir transfer__dir--${t.direction}`} aria-hidden="true">
          <Dir size={16} />
        </span>
        <div className="transfer__title">
          <span className="row__name" title={t.name}>
            {t.name}
          </span>
          <span className="row__sub" title={t.route?.via ? `Relayed via ${t.route.via}` : undefined}>
            {transferPeersText(t)}
          </span>
        </div>
        <span className={`state-chip state-chip--${t.state}`}>{STATE_LABELS[t.state]}</span>
        <div className="transfer__actions">
          {playable && (
            <IconButton icon={PlayCircle} label={`Play ${t.name}`} title="Play" onClick={() => void play({ transferId: t.id })} />
          )}
          {t.state === 'running' || t.state === 'queued' ? (
            <IconButton icon={Pause} label={`Pause ${t.name}`} title="Pause" onClick={() => void pauseTransfer(t.id)} />
          ) : null}
          {t.state === 'paused' || (t.state === 'failed' && t.direction === 'down') ? (
            <IconButton icon={Play} label={`Resume ${t.name}`} title="Resume" onClick={() => void resumeTransfer(t.id)} />
          ) : null}
          {active && <IconButton icon={X} label={`Cancel ${t.name}`} title="Cancel" onClick={() => void cancelTransfer(t.id)} />}
          {canShow && t.state === 'done' && t.path && (
            <button type="button" className="button button--ghost button--small" onClick={() => void showInFolder(t.id)}>
              <FolderOpen size={15} aria-hidden="true" />
              Show in folder
            </button>
          )}
        </div>
      </div>
      <ProgressBar bytes={t.state === 'done' ? t.total : t.bytes} total={t.total} label={t.name} tone={tone} />
      <p className={`transfer__meta ${t.state === 'failed' ? 'transfer__meta--error' : ''}`}>{describe(t)}</p>
    </li>
  );
}

/** Every download and upload: progress, speed, ETA, pause/resume/cancel, and why one failed. */
export function TransfersView() {
  const order = useApp((s) => s.transferOrder);
  const transfers = useApp((s) => s.transfers);
  const list = order.map((id) => transfers[id]!).filter(Boolean);
  const running = list.filter((t) => t.state === 'running').length;
  const done = list.filter((t) => t.state === 'done').length;
  const totalSpeed = list.filter((t) => t.state === 'running').reduce((a, t) => a + t.speed, 0);
  return (
    <>
      <ViewHeader
        title="Transfers"
        subtitle={
          list.length === 0
            ? 'Downloads and uploads show here.'
            : `${running} running · ${done} done${running > 0 ? ` · ${formatSpeed(totalSpeed)}` : ''}`
        }
      />
      {list.length === 0 ? (
        <EmptyState icon={<ArrowDownUp size={36} strokeWidth={1.5} />} title="No transfers yet">
          Search for something and press Download. Files arrive in your download folder, checked against their SHA-256.
        </EmptyState>
      ) : (
        <div className="scroll-pane">
          <ul className="transfer-list" aria-label="Transfers">
            {list.map((t) => (
              <TransferCard key={t.id} t={t} />
            ))}
          </ul>
        </div>
      )}
    </>
  );
}
