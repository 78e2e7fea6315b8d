import { Check, Download, Loader2, Play, Search, SearchX } from 'lucide-react';
import { useEffect, useState, type FormEvent } from 'react';
import { MEDIA_TYPES, type MediaType } from '../../../shared/types.js';
import { EmptyState } from '../components/empty-state.js';
import { FileIcon, TYPE_LABELS } from '../components/file-icon.js';
import { ViewHeader } from '../components/view-header.js';
import { VirtualList } from '../components/virtual-list.js';
import { formatAddress, formatCount, formatSize } from '../lib/format.js';
import { appStore, useApp } from '../store/index.js';
import type { SearchGroup } from '../store/search-slice.js';

/** For this long after a search is sent the view says hits may still arrive. */
const LIVE_MS = 8000;

function useLive(startedAt: number | null): boolean {
  const [, tick] = useState(0);
  const live = startedAt !== null && Date.now() - startedAt < LIVE_MS;
  useEffect(() => {
    if (!live || startedAt === null) return;
    const t = setTimeout(() => tick((n) => n + 1), LIVE_MS - (Date.now() - startedAt) + 10);
    return () => clearTimeout(t);
  }, [live, startedAt]);
  return live;
}

function SearchForm() {
  const start = useApp((s) => s.startSearch);
  // The form starts from the last search, so coming back to the view keeps it.
  const [query, setQuery] = useState(() => appStore.getState().query);
  const [ttl, setTtl] = useState(() => appStore.getState().ttl);
  const [type, setType] = useState<MediaType | ''>(() => appStore.getState().typeFilter);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void start(query, ttl, type);
  };
  return (
    <form className="search-form card" role="search" onSubmit={submit}>
      <label className="search-form__query">
        <Search size={18} aria-hidden="true" />
        <input
          type="search"
          aria-label="Search"
          placeholder="Search the network, e.g. holiday beach"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          autoFocus
          spellCheck={false}
        />
      </label>
      <label className="field field--narrow">
        <span className="field__label">TTL</span>
        <input type="number" min={1} max={7} value={ttl} onChange={(e) => setTtl(Math.min(7, Math.max(1, Number(e.target.value) || 1)))} />
      </label>
      <label className="field">
        <span className="field__label">Type</span>
        <select value={type} onChange={(e) => setType(e.target.value as MediaType | '')}>
          <option value="">All types</option>
          {MEDIA_TYPES.map((t) => (
            <option key={t} value={t}>
              {TYPE_LABELS[t]}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" className="button button--primary">
        Search
      </button>
    </form>
  );
}

function ResultRow({ group }: { group: SearchGroup }) {
  const download = useApp((s) => s.download);
  const started = useApp((s) =>
    s.transferOrder.some((id) => {
      const t = s.transfers[id];
      return (
        t !== undefined &&
        t.direction === 'down' &&
        t.state !== 'cancelled' &&
        t.state !== 'failed' &&
        (group.sha256 ? t.sha256 === group.sha256 : t.name === group.name)
      );
    }),
  );
  const play = useApp((s) => s.play);
  const [busy, setBusy] = useState(false);
  const sources = group.sources.map(formatAddress);
  const request = () => ({
    name: group.name,
    sources: group.sources.slice(0, 64),
    ...(group.sha256 ? { sha256: group.sha256 } : {}),
    ...(group.size !== undefined ? { size: group.size } : {}),
  });
  const onDownload = async () => {
    setBusy(true);
    await download(request());
    setBusy(false);
  };
  return (
    <>
      <FileIcon type={group.type} />
      <div className="row__main">
        <span className="row__name" title={group.name}>
          {group.name}
        </span>
        <span className="row__sub">
          {group.type ? TYPE_LABELS[group.type] : 'Unknown type'} · {formatSize(group.size)}
          {group.sha256 ? ` · ${group.sha256.slice(0, 12)}…` : ''}
        </span>
      </div>
      <span className="sources" title={sources.join('\n')}>
        {group.sources.length} {group.sources.length === 1 ? 'source' : 'sources'}
      </span>
      <div className="row__actions">
        {group.type && (
          <button
            type="button"
            className="button button--small button--secondary"
            aria-label={`Play ${group.name}`}
            onClick={() => void play(request())}
          >
            <Play size={15} aria-hidden="true" />
            {group.type === 'picture' ? 'View' : 'Play'}
          </button>
        )}
        <button
          type="button"
          className={`button button--small ${started ? 'button--ghost' : 'button--secondary'}`}
          aria-label={`${started ? 'Downloading' : 'Download'} ${group.name}`}
          disabled={busy}
          onClick={() => void onDownload()}
        >
          {started ? <Check size={15} aria-hidden="true" /> : <Download size={15} aria-hidden="true" />}
          {started ? 'Downloading' : 'Download'}
        </button>
      </div>
    </>
  );
}

/** Search the network: hits stream in live, grouped by SHA-256 with a source count. */
export function SearchView() {
  const groups = useApp((s) => s.groups);
  const hitCount = useApp((s) => s.hitCount);
  const query = useApp((s) => s.query);
  const error = useApp((s) => s.searchError);
  const startedAt = useApp((s) => s.searchStartedAt);
  const live = useLive(startedAt);

  let subtitle = 'Find media on peers up to TTL hops away.';
  if (query)
    subtitle = `${formatCount(groups.length)} ${groups.length === 1 ? 'file' : 'files'} from ${formatCount(hitCount)} ${hitCount === 1 ? 'hit' : 'hits'} for “${query}”`;

  return (
    <>
      <ViewHeader
        title="Search"
        subtitle={
          <>
            {subtitle}
            {live && (
              <span className="live" role="status">
                <Loader2 size={13} className="spin" aria-hidden="true" /> results are arriving
              </span>
            )}
          </>
        }
      />
      <SearchForm />
      {error && (
        <p className="field__error" role="alert">
          {error}
        </p>
      )}
      {!query ? (
        <EmptyState icon={<Search size={36} strokeWidth={1.5} />} title="Search the network">
          Type a few words from a file name. Every word must match; results stream in as peers answer.
        </EmptyState>
      ) : groups.length === 0 ? (
        <EmptyState
          icon={live ? <Loader2 size={36} strokeWidth={1.5} className="spin" /> : <SearchX size={36} strokeWidth={1.5} />}
          title={live ? 'Asking the network…' : 'Nothing found'}
        >
          {live
            ? 'Peers are looking through their shared files.'
            : 'Try fewer or shorter words, a different type, or a larger TTL to reach more peers.'}
        </EmptyState>
      ) : (
        <VirtualList
          items={groups}
          label="Search results"
          overscan={10}
          itemKey={(g) => g.key}
          rowClassName="row row--result"
          rowTestId="search-result"
        >
          {(g) => <ResultRow group={g} />}
        </VirtualList>
      )}
    </>
  );
}
