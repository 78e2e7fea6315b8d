import { FolderOpen, Play, Search, UploadCloud } from 'lucide-react';
import { useMemo, useState } from 'react';
import type { LocalFile } from '../../../shared/types.js';
import { AddFilesButton } from '../components/add-files-button.js';
import { EmptyState } from '../components/empty-state.js';
import { FileIcon, TYPE_LABELS } from '../components/file-icon.js';
import { ProgressBar } from '../components/progress-bar.js';
import { ViewHeader } from '../components/view-header.js';
import { VirtualList } from '../components/virtual-list.js';
import { formatBytes, formatCount, formatDate } from '../lib/format.js';
import { useApp } from '../store/index.js';

function Thumb({ file }: { file: LocalFile }) {
  const mediaUrl = useApp((s) => s.mediaUrl);
  const [broken, setBroken] = useState(false);
  if (file.type === 'picture' && !broken) {
    return <img className="thumb" src={mediaUrl(file.name)} alt="" loading="lazy" decoding="async" onError={() => setBroken(true)} />;
  }
  return (
    <span className="thumb thumb--icon">
      <FileIcon type={file.type} />
    </span>
  );
}

function splitName(name: string): { base: string; folder: string } {
  const i = name.lastIndexOf('/');
  return i < 0 ? { base: name, folder: '' } : { base: name.slice(i + 1), folder: name.slice(0, i) };
}

function ImportList() {
  const imports = useApp((s) => s.imports);
  const clear = useApp((s) => s.clearFinishedImports);
  if (imports.length === 0) return null;
  return (
    <section className="card imports" aria-label="Files being shared">
      <div className="card__head">
        <h2 className="card__title">Adding to your shared folder</h2>
        {imports.some((p) => p.done) && (
          <button type="button" className="button button--ghost button--small" onClick={clear}>
            Clear finished
          </button>
        )}
      </div>
      <ul className="imports__list">
        {imports.map((p) => (
          <li key={p.name} className="imports__item">
            <span className="imports__name">{p.name}</span>
            <ProgressBar
              bytes={p.done && !p.error ? p.total : p.bytes}
              total={p.total}
              label={`Adding ${p.name}`}
              tone={p.error ? 'danger' : p.done ? 'success' : 'accent'}
            />
            <span className="imports__status">
              {p.error ? p.error : p.done ? 'Shared' : `${formatBytes(p.bytes)} of ${formatBytes(p.total)}`}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** One shared file: its thumbnail (Play or View), name, folder and date, type and size. */
function LibraryRow({ file: f }: { file: LocalFile }) {
  const playFile = useApp((s) => s.playFile);
  const { base, folder } = splitName(f.name);
  const playable = f.type !== 'picture';
  return (
    <>
      <button type="button" className="row__thumb" aria-label={`${playable ? 'Play' : 'View'} ${f.name}`} onClick={() => playFile(f)}>
        <Thumb file={f} />
        {playable && (
          <span className="row__play" aria-hidden="true">
            <Play size={14} fill="currentColor" />
          </span>
        )}
      </button>
      <div className="row__main">
        <span className="row__name" title={f.name}>
          {base}
        </span>
        <span className="row__sub">
          {folder ? `${folder} · ` : ''}
          {formatDate(f.mtimeMs)}
        </span>
      </div>
      <span className={`type-chip type-chip--${f.type}`}>{TYPE_LABELS[f.type]}</span>
      <span className="row__size">{formatBytes(f.size)}</span>
    </>
  );
}

/** Your own shared media: type, size, thumbnails for pictures, play for audio and video. */
export function LibraryView() {
  const files = useApp((s) => s.files);
  const loaded = useApp((s) => s.libraryLoaded);
  const [filter, setFilter] = useState('');

  const shown = useMemo(() => {
    const terms = filter.toLowerCase().split(/\s+/).filter(Boolean);
    return terms.length === 0 ? files : files.filter((f) => terms.every((t) => f.name.toLowerCase().includes(t)));
  }, [files, filter]);
  const totalBytes = useMemo(() => files.reduce((a, f) => a + f.size, 0), [files]);

  return (
    <>
      <ViewHeader
        title="Library"
        subtitle={
          loaded
            ? `${formatCount(files.length)} shared ${files.length === 1 ? 'file' : 'files'} · ${formatBytes(totalBytes)}`
            : 'Loading your shared folder…'
        }
        actions={
          <>
            {files.length > 0 && (
              <label className="filter">
                <Search size={15} aria-hidden="true" />
                <input
                  type="text"
                  placeholder="Filter"
                  aria-label="Filter library"
                  value={filter}
                  onChange={(e) => setFilter(e.target.value)}
                />
              </label>
            )}
            {files.length > 0 && <AddFilesButton />}
          </>
        }
      />
      <ImportList />
      {loaded && files.length === 0 ? (
        <EmptyState icon={<UploadCloud size={36} strokeWidth={1.5} />} title="Drop media here to share it" action={<AddFilesButton />}>
          Drag videos, music or pictures onto this window, or add them from a folder. Peers can find them as soon as they appear here.
        </EmptyState>
      ) : loaded && shown.length === 0 ? (
        <EmptyState icon={<FolderOpen size={36} strokeWidth={1.5} />} title="No file matches that filter">
          Clear the filter to see all {formatCount(files.length)} files.
        </EmptyState>
      ) : (
        <VirtualList items={shown} label="Shared files" overscan={8} itemKey={(f) => f.name} rowClassName="row" rowTestId="library-row">
          {(f) => <LibraryRow file={f} />}
        </VirtualList>
      )}
    </>
  );
}
