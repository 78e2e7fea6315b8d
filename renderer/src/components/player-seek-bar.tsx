import { formatTime, type BarSpan } from '../lib/player-bar.js';

function Spans({ spans, kind }: { spans: BarSpan[]; kind: 'verified' | 'buffered' }) {
  return spans.map((s, i) => (
    <span
      key={`${kind}-${i}`}
      className={`seek-bar__span seek-bar__span--${kind}`}
      style={{ left: `${s.from * 100}%`, width: `${Math.max(0, s.to - s.from) * 100}%` }}
    />
  ));
}

/**
 * The seek bar: verified bytes (checked pieces) and the player's buffer drawn
 * under the play head, with a native range input on top for mouse, touch and
 * keyboard seeking.
 */
export function SeekBar(props: {
  currentTime: number;
  duration: number;
  verified: BarSpan[];
  buffered: BarSpan[];
  onSeek(time: number): void;
}) {
  const { currentTime, duration, verified, buffered, onSeek } = props;
  const known = Number.isFinite(duration) && duration > 0;
  const played = known ? Math.min(1, currentTime / duration) : 0;
  return (
    <div className="seek-bar">
      <div className="seek-bar__track" aria-hidden="true">
        <Spans spans={verified} kind="verified" />
        <Spans spans={buffered} kind="buffered" />
        <span className="seek-bar__played" style={{ width: `${played * 100}%` }} />
      </div>
      <input
        className="seek-bar__input"
        type="range"
        aria-label="Seek"
        min={0}
        max={known ? duration : 0}
        step={0.1}
        value={known ? Math.min(currentTime, duration) : 0}
        disabled={!known}
        aria-valuetext={`${formatTime(currentTime)} of ${formatTime(duration)}`}
        onChange={(e) => onSeek(Number(e.currentTarget.value))}
      />
    </div>
  );
}
