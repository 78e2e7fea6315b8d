import { AlertCircle, CheckCircle2, X } from 'lucide-react';
import { useEffect } from 'react';
import { useApp } from '../store/index.js';
import type { Notice } from '../store/ui-slice.js';

function NoticeItem({ notice }: { notice: Notice }) {
  const dismiss = useApp((s) => s.dismissNotice);
  useEffect(() => {
    const t = setTimeout(() => dismiss(notice.id), notice.kind === 'error' ? 12_000 : 5_000);
    return () => clearTimeout(t);
  }, [notice, dismiss]);
  const Icon = notice.kind === 'error' ? AlertCircle : CheckCircle2;
  return (
    <div className={`notice notice--${notice.kind}`} role={notice.kind === 'error' ? 'alert' : 'status'}>
      <Icon size={18} aria-hidden="true" />
      <span className="notice__text">{notice.text}</span>
      <button type="button" className="icon-button" aria-label="Dismiss" onClick={() => dismiss(notice.id)}>
        <X size={16} aria-hidden="true" />
      </button>
    </div>
  );
}

/** Short messages in the corner: what just happened, and errors in plain words. */
export function Notices() {
  const notices = useApp((s) => s.notices);
  return (
    <div className="notices" aria-live="polite">
      {notices.map((n) => (
        <NoticeItem key={n.id} notice={n} />
      ))}
    </div>
  );
}
