import { Maximize, Pause, Play, Volume2, VolumeX, X } from 'lucide-react';
import { useCallback, useEffect, useRef, useState, type RefObject } from 'react';
import type { MediaType } from '../../../shared/types.js';
import { formatBytes } from '../lib/format.js';
import { byteSpansToBar, formatTime, timeRangesToBar } from '../lib/player-bar.js';
import { useApp } from '../store/index.js';
import type { ByteSpan } from '../store/player-slice.js';
import { TYPE_LABELS } from './file-icon.js';
import { SeekBar } from './player-seek-bar.js';
import './player-panel.css';

interface PlayerPanelProps {
  name: string;
  type: MediaType;
  url: string;
  size: number;
  /** Verified bytes; the whole file once complete. */
  verified: readonly ByteSpan[];
  /** All of the file has arrived and passed its checks. */
  complete: boolean;
  onClose(): void;
  /** Where the desktop can show a finished file in its folder, to open it with another player. */
  onShowFile?: () => void;
  /** Where the desktop can hand a finished file to the system's player. */
  onOpenExternal?: () => void;
}

type Problem = 'codec' | 'no-picture' | 'network';

interface MediaState {
  playing: boolean;
  waiting: boolean;
  muted: boolean;
  currentTime: number;
  duration: number;
  buffered: TimeRanges | undefined;
  problem: Problem | undefined;
}

const INITIAL: MediaState = {
  playing: false,
  waiting: false,
  muted: false,
  currentTime: 0,
  duration: NaN,
  buffered: undefined,
  problem: undefined,
};

/**
 * The media element's state, from its events. A codec Chromium cannot decode
 * shows up as error 3/4, or (video only) as metadata with no picture size,
 * where the sound plays over a black box; both become a `problem`.
 */
function useMediaState(ref: RefObject<HTMLMediaElement | null>, type: MediaType): MediaState {
  const [state, setState] = useState<MediaState>(INITIAL);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const update = (patch: Partial<MediaState>) => setState((s) => ({ ...s, ...patch }));
    const times = () => update({ currentTime: el.currentTime, duration: el.duration, buffered: el.buffered });
    const handlers: Record<string, () => void> = {
      play: () => update({ playing: true }),
      pause: () => update({ playing: false }),
      playing: () => update({ waiting: false, playing: true }),
      waiting: () => update({ waiting: true }),
      timeupdate: times,
      durationchange: times,
      progress: times,
      volumechange: () => update({ muted: el.muted }),
      loadedmetadata: () => {
        times();
        if (type === 'video' && el instanceof HTMLVideoElement && el.videoWidth === 0) update({ problem: 'no-picture' });
      },
      error: () => {
        const code = el.error?.code;
        update({ problem: code === MediaError.MEDIA_ERR_NETWORK ? 'network' : 'codec', playing: false, waiting: false });
      },
    };
    for (const [ev, fn] of Object.entries(handlers)) el.addEventListener(ev, fn);
    return () => {
      for (const [ev, fn] of Object.entries(handlers)) el.removeEventListener(ev, fn);
    };
  }, [ref, type]);
  return state;
}

/** What to tell the user when the browser engine cannot play the file, and what they can do. */
function ProblemNotice(props: {
  problem: Problem;
  type: MediaType;
  complete: boolean;
  onOpenExternal?: () => void;
  onShowFile?: () => void;
  onRetry(): void;
}) {
  const { problem, type, complete, onOpenExternal, onShowFile, onRetry } = props;
  if (problem === 'network') {
    return (
      <div className="player__problem" role="alert">
        <p>The stream was interrupted.</p>
        <button type="button" className="button button--secondary button--small" onClick={onRetry}>
          Try again
        </button>
      </div>
    );
  }
  const what = problem === 'no-picture' ? 'the picture of this video' : `this ${type === 'music' ? 'audio' : 'video'} format`;
  return (
    <div className="player__problem" role="alert">
      <p>This player cannot decode {what} (its codec, for example HEVC, AC3 or DTS, is not supported here). The file itself is fine.</p>
      <p className="player__hint">
        {complete
          ? 'Open it with your system player, such as VLC or mpv.'
          : 'Once the download is complete you can open it with your system player, such as VLC or mpv.'}
      </p>
      {complete && (onOpenExternal || onShowFile) && (
        <div className="player__problem-actions">
          {onOpenExternal && (
            <button type="button" className="button button--primary button--small" onClick={onOpenExternal}>
              Open with system player
            </button>
          )}
          {onShowFile && (
            <button type="button" className="button button--secondary button--small" onClick={onShowFile}>
              Show in folder
            </button>
          )}
        </div>
      )}
    </div>
  );
}

/** Video or audio with our own controls, so the seek bar can show verified and buffered parts. */
function MediaPlayer(props: PlayerPanelProps) {
  const { type, url, size, verified, complete } = props;
  const ref = useRef<HTMLVideoElement & HTMLAudioElement>(null);
  const started = useRef(false);
  // Autoplay waits for "enough data", which Chromium judges from the download rate; a stream whose
  // source keeps up can start as soon as the next frames are here (canplay), once.
  const startOnce = () => {
    const el = ref.current;
    if (started.current || !el) return;
    started.current = true;
    if (el.paused) void el.play().catch(() => {});
  };
  const m = useMediaState(ref, type);
  const seek = useCallback((t: number) => {
    if (ref.current) ref.current.currentTime = t;
  }, []);
  const toggle = () => {
    const el = ref.current;
    if (!el) return;
    if (el.paused) void el.play().catch(() => {});
    else el.pause();
  };
  const retry = () => {
    const el = ref.current;
    if (!el) return;
    const at = el.currentTime;
    el.load();
    el.currentTime = at;
    void el.play().catch(() => {});
  };
  const Media = type === 'video' ? 'video' : 'audio';
  return (
    <div className={`player player--${type}`}>
      <div className="player__stage">
        <Media ref={ref} src={url} autoPlay playsInline preload="auto" onClick={toggle} onCanPlay={startOnce} />
        {m.waiting && !m.problem && (
          <span className="player__waiting" role="status">
            {complete ? 'Loading…' : 'Waiting for the next pieces…'}
          </span>
        )}
      </div>
      {m.problem && (
        <ProblemNotice
          problem={m.problem}
          type={type}
          complete={complete}
          onOpenExternal={props.onOpenExternal}
          onShowFile={props.onShowFile}
          onRetry={retry}
        />
      )}
      <div className="player__controls">
        <button type="button" className="icon-button" aria-label={m.playing ? 'Pause' : 'Play'} onClick={toggle}>
          {m.playing ? <Pause size={18} aria-hidden="true" /> : <Play size={18} aria-hidden="true" />}
        </button>
        <SeekBar
          currentTime={m.currentTime}
          duration={m.duration}
          verified={byteSpansToBar(verified, size)}
          buffered={timeRangesToBar(m.buffered, m.duration)}
          onSeek={seek}
        />
        <span className="player__time">
          {formatTime(m.currentTime)} / {formatTime(m.duration)}
        </span>
        <button
          type="button"
          className="icon-button"
          aria-label={m.muted ? 'Unmute' : 'Mute'}
          onClick={() => ref.current && (ref.current.muted = !ref.current.muted)}
        >
          {m.muted ? <VolumeX size={18} aria-hidden="true" /> : <Volume2 size={18} aria-hidden="true" />}
        </button>
        {type === 'video' && (
          <button
            type="button"
            className="icon-button"
            aria-label="Full screen"
            onClick={() => void ref.current?.requestFullscreen().catch(() => {})}
          >
            <Maximize size={18} aria-hidden="true" />
          </button>
        )}
      </div>
    </div>
  );
}

/** Whole percent of the file verified so far. */
function verifiedPercent(verified: readonly ByteSpan[], size: number): number {
  const have = verified.reduce((n, s) => n + (s.end - s.start), 0);
  return size > 0 ? Math.floor((have / size) * 100) : 0;
}

/** A picture shows once all of it is here and checked; until then, how much has arrived. */
function PictureView({ name, url, size, verified, complete }: PlayerPanelProps) {
  if (complete) return <img className="player__picture" src={url} alt={name} />;
  return (
    <p className="player__pending" role="status">
      The picture shows as soon as it has arrived ({verifiedPercent(verified, size)}%).
    </p>
  );
}

/**
 * The one player panel, for video, audio and pictures, as a modal dialog
 * closed with Escape or the close button. Library, Search and Transfers all
 * open this same panel.
 */
export function PlayerPanel(props: PlayerPanelProps) {
  const { name, type, size, onClose } = props;
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = dialog.current;
    if (!d) return;
    if (!d.open) d.showModal();
    return () => d.close();
  }, []);
  return (
    <dialog
      ref={dialog}
      className="preview player-panel"
      aria-label={type === 'picture' ? `Preview of ${name}` : `Player: ${name}`}
      onClose={onClose}
      onClick={(e) => e.target === e.currentTarget && onClose()}
    >
      <div className="preview__head">
        <div>
          <strong className="preview__title">{name}</strong>
          <span className="preview__meta">
            {TYPE_LABELS[type]} · {formatBytes(size)}
            {props.complete ? '' : ` · arriving, ${verifiedPercent(props.verified, size)}% verified`}
          </span>
        </div>
        <button type="button" className="icon-button" aria-label="Close player" onClick={onClose}>
          <X size={18} aria-hidden="true" />
        </button>
      </div>
      <div className="preview__body">{type === 'picture' ? <PictureView {...props} /> : <MediaPlayer key={props.url} {...props} />}</div>
    </dialog>
  );
}

/** The panel for the store's current item; mounted once, at the app's root. */
export function Player() {
  const item = useApp((s) => s.player);
  const verified = useApp((s) => s.playerVerified);
  const complete = useApp((s) => s.playerComplete);
  const transfer = useApp((s) => (s.player?.transferId ? s.transfers[s.player.transferId] : undefined));
  const close = useApp((s) => s.closePlayer);
  const canShow = useApp((s) => s.canShowInFolder);
  const show = useApp((s) => s.showInFolder);
  const open = useApp((s) => s.openInSystemPlayer);
  if (!item) return null;
  const done = transfer?.state === 'done' ? transfer.id : undefined;
  return (
    <PlayerPanel
      key={item.url}
      {...item}
      verified={verified}
      complete={complete}
      onClose={close}
      onShowFile={canShow && done ? () => void show(done) : undefined}
      onOpenExternal={open && done ? () => void open(done) : undefined}
    />
  );
}
