import { Copy, Download, FolderSearch, Radar, RotateCcw, Stethoscope, Trash2, UserPlus, Users, X } from 'lucide-react';
import { useState, type FormEvent } from 'react';
import type { DoctorCheck, KnownPeer, NeighbourInfo, RemoteFile } from '../../../shared/types.js';
import { EmptyState } from '../components/empty-state.js';
import { IconTextButton } from '../components/icon-button.js';
import { FileIcon, TYPE_LABELS } from '../components/file-icon.js';
import { ViewHeader } from '../components/view-header.js';
import { formatAddress, formatAgo, formatBytes, formatCount, formatSize, sumCounts as sum } from '../lib/format.js';
import { useApp } from '../store/index.js';
import type { RemoteBrowse } from '../store/peers-slice.js';

const SOURCE_LABELS: Record<KnownPeer['source'], string> = {
  bootstrap: 'Bootstrap',
  user: 'Added by you',
  discovered: 'Discovered',
  nearby: 'Nearby',
  online: 'Found online',
};

const PROTOCOL_LABELS: Record<KnownPeer['protocol'], string> = {
  v2: 'MacTella v2 · TLS',
  v1: 'Unencrypted (seed peer)',
  unknown: 'Unknown',
};

function ProtocolBadge({ protocol }: { protocol: KnownPeer['protocol'] }) {
  const title =
    protocol === 'v1'
      ? 'Speaks the seed protocol (v1): plain text, anyone on the path can read it'
      : protocol === 'v2'
        ? 'TLS 1.3, both peers proved their IDs'
        : undefined;
  return (
    <span className={`badge badge--${protocol}`} title={title}>
      {PROTOCOL_LABELS[protocol]}
    </span>
  );
}

/** A button that copies a peer ID to the clipboard. */
function CopyIdButton({ id }: { id: string }) {
  const [copied, setCopied] = useState(false);
  const copy = () =>
    void navigator.clipboard?.writeText(id).then(
      () => setCopied(true),
      () => {},
    );
  return (
    <IconTextButton
      icon={Copy}
      iconSize={13}
      className="button button--ghost button--small"
      onClick={copy}
      aria-label={`Copy the ID ${id}`}
    >
      {copied ? 'Copied' : 'Copy'}
    </IconTextButton>
  );
}

/** A peer's ID, shortened, with the whole of it in the tooltip and a button that copies it. */
function PeerId({ id }: { id: string }) {
  return (
    <span className="peer-row__id" title={id} data-testid="peer-id">
      ID {id.slice(0, 15)}…
      <CopyIdButton id={id} />
    </span>
  );
}

/** Our own ID, whole, to give to others as ID@HOST:PORT. */
function SelfIdCard() {
  const selfId = useApp((s) => s.selfId);
  if (!selfId) return null;
  return (
    <section className="card self-id" aria-label="Your peer ID">
      <span className="field__label">Your peer ID</span>
      <code className="self-id__value" data-testid="self-id">
        {selfId}
      </code>
      <CopyIdButton id={selfId} />
    </section>
  );
}

function AddPeerForm() {
  const addPeer = useApp((s) => s.addPeer);
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    const err = await addPeer(text);
    setBusy(false);
    setError(err);
    if (!err) setText('');
  };
  return (
    <form className="toolbar__group" onSubmit={submit}>
      <label className="field">
        <span className="field__label">Peer address</span>
        <input
          type="text"
          placeholder="ID@host:port or host:port"
          value={text}
          onChange={(e) => setText(e.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'add-peer-error' : undefined}
          spellCheck={false}
        />
      </label>
      <button type="submit" className="button button--secondary" disabled={busy}>
        <UserPlus size={16} aria-hidden="true" />
        Add
      </button>
      {error && (
        <p className="field__error" id="add-peer-error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

function DiscoverForm() {
  const discover = useApp((s) => s.discover);
  const reset = useApp((s) => s.resetPeers);
  const discovering = useApp((s) => s.discovering);
  const [ttl, setTtl] = useState(2);
  return (
    <form
      className="toolbar__group"
      onSubmit={(e) => {
        e.preventDefault();
        void discover(ttl);
      }}
    >
      <label className="field field--narrow">
        <span className="field__label">TTL</span>
        <input type="number" min={1} max={7} value={ttl} onChange={(e) => setTtl(Math.min(7, Math.max(1, Number(e.target.value) || 1)))} />
      </label>
      <button type="submit" className="button button--primary" disabled={discovering}>
        <Radar size={16} aria-hidden="true" className={discovering ? 'spin' : undefined} />
        {discovering ? 'Discovering…' : 'Discover'}
      </button>
      <IconTextButton
        icon={RotateCcw}
        className="button button--ghost"
        onClick={() => void reset()}
        title="Return the known-peer list to the bootstrap peers"
      >
        Reset
      </IconTextButton>
    </form>
  );
}

function PeerRow({ peer }: { peer: KnownPeer }) {
  const browse = useApp((s) => s.browsePeer);
  const remove = useApp((s) => s.removePeer);
  const addr = formatAddress(peer);
  return (
    <li className="peer-row" data-testid="peer-row" aria-label={`Peer ${addr}`}>
      <span className={`status-dot ${peer.connected ? 'status-dot--on' : ''}`} aria-hidden="true" />
      <div className="peer-row__main">
        <span className="peer-row__addr">{addr}</span>
        <span className="row__sub">
          {peer.connected ? 'Connected' : 'Not connected'} · {SOURCE_LABELS[peer.source]}
          {peer.lastSeen ? ` · seen ${formatAgo(peer.lastSeen)}` : ''}
        </span>
        {peer.id && <PeerId id={peer.id} />}
        {peer.refused && (
          <span className="field__error" role="status">
            Refused: {peer.refused}. Remove this entry if the peer there is now the one you expect.
          </span>
        )}
      </div>
      <ProtocolBadge protocol={peer.protocol} />
      <span className="peer-row__shares">
        {peer.files !== undefined ? `${formatCount(peer.files)} files · ${formatSize(peer.bytes)}` : '—'}
      </span>
      <span className="peer-row__actions">
        <IconTextButton
          icon={FolderSearch}
          iconSize={15}
          className="button button--ghost button--small"
          onClick={() => void browse({ host: peer.host, port: peer.port, ...(peer.id ? { id: peer.id } : {}) })}
          aria-label={`Browse ${addr}`}
        >
          Browse
        </IconTextButton>
        <IconTextButton
          icon={Trash2}
          iconSize={15}
          className="button button--ghost button--small"
          onClick={() => void remove({ host: peer.host, port: peer.port })}
          aria-label={`Remove ${addr}`}
          title="Forget this peer and its pinned ID"
        >
          Remove
        </IconTextButton>
      </span>
    </li>
  );
}

/** One open neighbour link: where it goes, which way it was dialled, and the ID the peer proved. */
function NeighbourRow({ n }: { n: NeighbourInfo }) {
  const addr = formatAddress(n);
  return (
    <li className="peer-row peer-row--neighbour" data-testid="neighbour-row" aria-label={`Neighbour ${addr}`}>
      <span className="status-dot status-dot--on" aria-hidden="true" />
      <div className="peer-row__main">
        <span className="peer-row__addr">{addr}</span>
        <span className="row__sub">{n.direction === 'out' ? 'We dialled it' : 'It dialled us'}</span>
        <PeerId id={n.peerId} />
      </div>
      <ProtocolBadge protocol="v2" />
    </li>
  );
}

function RemoteFileRow({ file, remote }: { file: RemoteFile; remote: RemoteBrowse }) {
  const download = useApp((s) => s.download);
  return (
    <li className="remote-row">
      <FileIcon type={file.type} size={18} />
      <span className="remote-row__name" title={file.name}>
        {file.name}
      </span>
      <span className="row__sub">{TYPE_LABELS[file.type]}</span>
      <span className="row__size">{formatBytes(file.size)}</span>
      <IconTextButton
        icon={Download}
        iconSize={15}
        className="button button--secondary button--small"
        aria-label={`Download ${file.name}`}
        onClick={() =>
          void download({ name: file.name, size: file.size, sources: [remote.address], ...(file.sha256 ? { sha256: file.sha256 } : {}) })
        }
      >
        Download
      </IconTextButton>
    </li>
  );
}

function RemotePanel({ remote }: { remote: RemoteBrowse }) {
  const close = useApp((s) => s.closeRemote);
  const addr = formatAddress(remote.address);
  return (
    <section className="card remote" aria-label={`Files shared by ${addr}`}>
      <div className="card__head">
        <h2 className="card__title">
          Shared by {addr}
          {remote.listing && <ProtocolBadge protocol={remote.listing.protocol} />}
        </h2>
        <button type="button" className="icon-button" aria-label="Close listing" onClick={close}>
          <X size={16} aria-hidden="true" />
        </button>
      </div>
      {remote.loading && <p className="muted">Asking {addr} for its list…</p>}
      {remote.error && <p className="field__error">{remote.error}</p>}
      {remote.listing && remote.listing.files.length === 0 && <p className="muted">This peer shares no files.</p>}
      {remote.listing && remote.listing.files.length > 0 && (
        <ul className="remote__list">
          {remote.listing.files.map((f) => (
            <RemoteFileRow key={f.name} file={f} remote={remote} />
          ))}
        </ul>
      )}
    </section>
  );
}

function StatsCard() {
  const stats = useApp((s) => s.stats);
  if (!stats) return null;
  const types = [...new Set([...Object.keys(stats.messagesIn), ...Object.keys(stats.messagesOut)])].sort();
  const drops = Object.entries(stats.drops).filter(([, n]) => n > 0);
  const tiles: [string, string][] = [
    ['Messages in', formatCount(sum(stats.messagesIn))],
    ['Messages out', formatCount(sum(stats.messagesOut))],
    ['Uploaded', formatBytes(stats.bytesUp)],
    ['Downloaded', formatBytes(stats.bytesDown)],
    ['Duplicates dropped', formatCount(stats.duplicatesDropped)],
    ['Neighbours', formatCount(stats.neighbours)],
  ];
  return (
    <section className="card stats" aria-label="Statistics">
      <div className="stats__grid">
        {tiles.map(([label, value]) => (
          <div key={label} className="stat">
            <span className="stat__value">{value}</span>
            <span className="stat__label">{label}</span>
          </div>
        ))}
      </div>
      {(types.length > 0 || drops.length > 0) && (
        <details className="stats__details">
          <summary>Messages by type{drops.length > 0 ? ' and drops' : ''}</summary>
          <table className="stats__table">
            <thead>
              <tr>
                <th scope="col">Type</th>
                <th scope="col">In</th>
                <th scope="col">Out</th>
              </tr>
            </thead>
            <tbody>
              {types.map((t) => (
                <tr key={t}>
                  <td>{t}</td>
                  <td>{formatCount(stats.messagesIn[t] ?? 0)}</td>
                  <td>{formatCount(stats.messagesOut[t] ?? 0)}</td>
                </tr>
              ))}
              {drops.map(([reason, n]) => (
                <tr key={`drop-${reason}`}>
                  <td>dropped: {reason}</td>
                  <td>{formatCount(n)}</td>
                  <td />
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </section>
  );
}

const DOCTOR_LABELS: Record<DoctorCheck['status'], string> = { ok: 'OK', warn: 'Check', fail: 'Failed', off: 'Off' };

/** The network doctor: each check with its result, and what to do about a failure. */
function NetworkCard() {
  const doctor = useApp((s) => s.doctor);
  const checking = useApp((s) => s.checkingNetwork);
  const checkNetwork = useApp((s) => s.checkNetwork);
  return (
    <section className="card network" aria-label="Network">
      <div className="card__head">
        <h2 className="card__title">Network</h2>
        <IconTextButton icon={Stethoscope} onClick={() => void checkNetwork()} disabled={checking}>
          {checking ? 'Checking…' : 'Check network'}
        </IconTextButton>
      </div>
      {doctor ? (
        <ul className="network__checks">
          {doctor.checks.map((c) => (
            <li key={c.name} className="network__check">
              <span className={`badge badge--${c.status}`}>{DOCTOR_LABELS[c.status]}</span>
              <span className="network__name">{c.name}</span>
              <span className="network__detail">{c.detail}</span>
              {c.advice && c.status !== 'ok' && <span className="network__advice">{c.advice}</span>}
            </li>
          ))}
        </ul>
      ) : (
        <p className="network__hint">
          Listening addresses, LAN discovery, port mapping, reachability, DHT and relays, with what to do when one fails.
        </p>
      )}
    </section>
  );
}

/** Connected and known peers: add by address, Discover with a TTL, Reset, and browse a peer's files. */
export function PeersView() {
  const known = useApp((s) => s.known);
  const neighbours = useApp((s) => s.neighbours);
  const remote = useApp((s) => s.remote);
  const connected = known.filter((p) => p.connected).length;
  const sorted = [...known].sort((a, b) => Number(b.connected) - Number(a.connected) || a.host.localeCompare(b.host) || a.port - b.port);
  return (
    <>
      <ViewHeader title="Peers" subtitle={`${connected} connected · ${known.length} known`} />
      <div className="toolbar card">
        <AddPeerForm />
        <DiscoverForm />
      </div>
      <div className="scroll-pane">
        <SelfIdCard />
        {remote && <RemotePanel remote={remote} />}
        {known.length === 0 ? (
          <EmptyState icon={<Users size={36} strokeWidth={1.5} />} title="Add a peer or Discover">
            Type the address of a friend’s MacTella (host:port) above, or press Discover to find the peers around the ones you know.
          </EmptyState>
        ) : (
          <ul className="peer-list card" aria-label="Known peers">
            {sorted.map((p) => (
              <PeerRow key={`${p.host}:${p.port}`} peer={p} />
            ))}
          </ul>
        )}
        {neighbours.length > 0 && (
          <>
            <h2 className="card__title">Neighbours ({neighbours.length})</h2>
            <ul className="peer-list card" aria-label="Neighbours">
              {neighbours.map((n) => (
                <NeighbourRow key={n.peerId} n={n} />
              ))}
            </ul>
          </>
        )}
        <NetworkCard />
        <StatsCard />
      </div>
    </>
  );
}
