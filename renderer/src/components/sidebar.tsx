import { ArrowDownUp, Library, Search, Settings, Users, type LucideIcon } from 'lucide-react';
import { useShallow } from 'zustand/react/shallow';
import { useApp } from '../store/index.js';
import type { ViewName } from '../store/ui-slice.js';
import { formatCount } from '../lib/format.js';
import { Logo } from './logo.js';

interface NavItem {
  view: ViewName;
  label: string;
  icon: LucideIcon;
  /** The count shown beside the label, and what it counts (for screen readers). */
  count?: number;
  unit?: string;
}

function NavLink({ item, current }: { item: NavItem; current: boolean }) {
  const Icon = item.icon;
  const countId = `nav-count-${item.view}`;
  const hasCount = item.count !== undefined && item.count > 0;
  return (
    <li>
      <a
        href={`#${item.view}`}
        className="nav-link"
        aria-current={current ? 'page' : undefined}
        aria-describedby={hasCount ? countId : undefined}
      >
        <Icon size={18} strokeWidth={1.8} aria-hidden="true" />
        <span className="nav-link__label">{item.label}</span>
        {hasCount && (
          <>
            <span className="nav-link__count" aria-hidden="true">
              {formatCount(item.count!)}
            </span>
            <span id={countId} hidden>
              {`${item.count} ${item.unit}`}
            </span>
          </>
        )}
      </a>
    </li>
  );
}

/** The four views with live counts, then Settings. */
export function Sidebar() {
  const { view, files, connected, groups, running, connection } = useApp(
    useShallow((s) => ({
      view: s.view,
      files: s.files.length,
      connected: s.known.filter((p) => p.connected).length,
      groups: s.groups.length,
      running: s.transferOrder.filter((id) => {
        const st = s.transfers[id]?.state;
        return st === 'running' || st === 'queued';
      }).length,
      connection: s.connection,
    })),
  );
  const items: NavItem[] = [
    { view: 'library', label: 'Library', icon: Library, count: files, unit: 'shared files' },
    { view: 'peers', label: 'Peers', icon: Users, count: connected, unit: 'peers connected' },
    { view: 'search', label: 'Search', icon: Search, count: groups, unit: 'results' },
    { view: 'transfers', label: 'Transfers', icon: ArrowDownUp, count: running, unit: 'transfers running' },
  ];
  return (
    <aside className="sidebar">
      <div className="brand">
        <Logo />
        <span className="brand__name">MacTella</span>
      </div>
      <nav aria-label="Views" className="nav">
        <ul>
          {items.map((item) => (
            <NavLink key={item.view} item={item} current={view === item.view} />
          ))}
        </ul>
        <ul className="nav__bottom">
          <NavLink item={{ view: 'settings', label: 'Settings', icon: Settings }} current={view === 'settings'} />
        </ul>
      </nav>
      <div className={`connection connection--${connection}`} role="status">
        <span className="connection__dot" aria-hidden="true" />
        {connection === 'open' ? 'Peer running' : connection === 'connecting' ? 'Connecting…' : 'Reconnecting…'}
      </div>
    </aside>
  );
}
