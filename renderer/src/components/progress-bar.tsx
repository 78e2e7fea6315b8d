import { percent } from '../lib/format.js';

/** An accessible progress bar: `role=progressbar` with the percentage in `aria-valuenow`. */
export function ProgressBar({
  bytes,
  total,
  label,
  tone = 'accent',
}: {
  bytes: number;
  total: number;
  label: string;
  tone?: 'accent' | 'success' | 'danger' | 'muted';
}) {
  const value = percent(bytes, total);
  return (
    <div
      className={`progress progress--${tone}`}
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={value}
      aria-valuetext={`${value}%`}
    >
      <div className="progress__fill" style={{ width: `${value}%` }} />
    </div>
  );
}
