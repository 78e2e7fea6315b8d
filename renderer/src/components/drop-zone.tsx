import { UploadCloud } from 'lucide-react';
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { useApp } from '../store/index.js';

const hasFiles = (e: DragEvent) => Array.from(e.dataTransfer?.types ?? []).includes('Files');

/** The whole window accepts dropped files; an overlay shows while files hover over it. */
export function DropZone({ children }: { children: ReactNode }) {
  const importFiles = useApp((s) => s.importFiles);
  const [over, setOver] = useState(false);
  const depth = useRef(0);

  useEffect(() => {
    const enter = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth.current++;
      setOver(true);
    };
    const overHandler = (e: DragEvent) => {
      // Without this the browser (or Electron) would open the file instead.
      e.preventDefault();
      if (e.dataTransfer) e.dataTransfer.dropEffect = hasFiles(e) ? 'copy' : 'none';
    };
    const leave = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      depth.current = Math.max(0, depth.current - 1);
      if (depth.current === 0) setOver(false);
    };
    const drop = (e: DragEvent) => {
      e.preventDefault();
      depth.current = 0;
      setOver(false);
      const files = Array.from(e.dataTransfer?.files ?? []);
      if (files.length > 0) void importFiles(files);
    };
    window.addEventListener('dragenter', enter);
    window.addEventListener('dragover', overHandler);
    window.addEventListener('dragleave', leave);
    window.addEventListener('drop', drop);
    return () => {
      window.removeEventListener('dragenter', enter);
      window.removeEventListener('dragover', overHandler);
      window.removeEventListener('dragleave', leave);
      window.removeEventListener('drop', drop);
    };
  }, [importFiles]);

  return (
    <>
      {children}
      {over && (
        <div className="drop-overlay" aria-hidden="true">
          <div className="drop-overlay__card">
            <UploadCloud size={40} strokeWidth={1.6} />
            <strong>Drop to share</strong>
            <span>The files are copied into your shared folder.</span>
          </div>
        </div>
      )}
    </>
  );
}
