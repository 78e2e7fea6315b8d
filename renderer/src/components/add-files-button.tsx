import { Plus } from 'lucide-react';
import { useRef } from 'react';
import { useApp } from '../store/index.js';

/** Extensions offered by the file picker (the peer shares only media). */
const ACCEPT = '.mov,.mp4,.mkv,.webm,.m4v,.avi,.mp3,.flac,.wav,.ogg,.m4a,.aac,.opus,.jpg,.jpeg,.png,.gif,.webp,.heic';

/** "Add files": a file picker whose choice is shared like a drop. */
export function AddFilesButton({ variant = 'primary' }: { variant?: 'primary' | 'secondary' }) {
  const input = useRef<HTMLInputElement>(null);
  const importFiles = useApp((s) => s.importFiles);
  return (
    <>
      <button type="button" className={`button button--${variant}`} onClick={() => input.current?.click()}>
        <Plus size={16} aria-hidden="true" />
        Add files
      </button>
      <input
        ref={input}
        type="file"
        multiple
        accept={ACCEPT}
        hidden
        data-testid="add-files-input"
        onChange={(e) => {
          const files = Array.from(e.currentTarget.files ?? []);
          e.currentTarget.value = '';
          void importFiles(files);
        }}
      />
    </>
  );
}
