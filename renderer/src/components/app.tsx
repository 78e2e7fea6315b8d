import { WifiOff } from 'lucide-react';
import { useEffect, type ComponentType } from 'react';
import { useApp, appStore } from '../store/index.js';
import { VIEWS, type ViewName } from '../store/ui-slice.js';
import { LibraryView } from '../views/library-view.js';
import { PeersView } from '../views/peers-view.js';
import { SearchView } from '../views/search-view.js';
import { SettingsView } from '../views/settings-view.js';
import { TransfersView } from '../views/transfers-view.js';
import { DropZone } from './drop-zone.js';
import { Notices } from './notices.js';
import { Player } from './player-panel.js';
import { Sidebar } from './sidebar.js';
import { StatusBar } from './status-bar.js';

const viewFromHash = (hash: string): ViewName | undefined => VIEWS.find((v) => `#${v}` === hash);

/** Keeps the current view and the URL's `#view` in step, so links, Back and reloads work. */
function useHashRoute() {
  useEffect(() => {
    const sync = () => {
      const v = viewFromHash(window.location.hash);
      if (v) appStore.getState().setView(v);
    };
    sync();
    window.addEventListener('hashchange', sync);
    return () => window.removeEventListener('hashchange', sync);
  }, []);
}

function ConnectionBanner() {
  const connection = useApp((s) => s.connection);
  if (connection !== 'closed') return null;
  return (
    <div className="banner" role="alert">
      <WifiOff size={16} aria-hidden="true" />
      Lost the connection to the MacTella peer. Reconnecting…
    </div>
  );
}

const VIEW_COMPONENTS: Record<ViewName, ComponentType> = {
  library: LibraryView,
  peers: PeersView,
  search: SearchView,
  transfers: TransfersView,
  settings: SettingsView,
};

/** The window: sidebar, the current view, the status bar, notices and the drop overlay. */
export function App() {
  useHashRoute();
  const view = useApp((s) => s.view);
  const View = VIEW_COMPONENTS[view];
  return (
    <DropZone>
      <div className="app">
        <Sidebar />
        <div className="main-column">
          <ConnectionBanner />
          <main className={`main main--${view}`} aria-labelledby="view-title">
            <View />
          </main>
          <StatusBar />
        </div>
      </div>
      <Notices />
      <Player />
    </DropZone>
  );
}
