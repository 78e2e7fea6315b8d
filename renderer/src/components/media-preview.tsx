import { X } from 'lucide-react';
import { useEffect, useRef } from 'react';
import type { LocalFile } from '../../../shared/types.js';
import { formatBytes } from '../lib/format.js';
import { useApp } from '../store/index.js';
import { TYPE_LABELS } from './file-icon.js';

/** A modal player or viewer for one shared file, closed with Escape or the close button. */
export function MediaPreview({ file, onClose }: { file: LocalFile; onClose: () => void }) {
  const url = useApp((s) => s.mediaUrl)(file.name);
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
      className="preview"
      aria-label={`Preview of ${file.name}`}
      onClose={onClose}
      onClick={(e) => e.target === e.currentTarget && onClose()}
    >
      <div className="preview__head">
        <div>
          <strong className="preview__title">{file.name}</strong>
          <span className="preview__meta">
            {TYPE_LABELS[file.type]} · {formatBytes(file.size)}
          </span>
        </div>
        <button type="button" className="icon-button" aria-label="Close preview" onClick={onClose}>
          <X size={18} aria-hidden="true" />
        </button>
      </div>
      <div className="preview__body">
        {file.type === 'picture' && <img src={url} alt={file.name} />}
        {file.type === 'video' && <video src={url} controls autoPlay />}
        {file.type === 'music' && <audio src={url} controls autoPlay />}
      </div>
    </dialog>
  );
}
