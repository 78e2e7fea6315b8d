import type { DesktopBridge } from '../../../shared/desktop.js';
import type { Host } from './host.js';

/** The host inside the Electron window: everything goes through the preload bridge. */
export function createElectronHost(bridge: DesktopBridge<File>): Host {
  return {
    api: bridge,
    mediaUrl: (name) => `mactella-media://local/${encodeURIComponent(name)}`,
    streamUrl: (id) => `mactella-media://stream/${encodeURIComponent(id)}`,
    async importFiles(files) {
      const paths = files.map((f) => bridge.pathForFile(f)).filter((p) => p !== '');
      if (paths.length === 0) throw new Error('These items are not files on this computer, so they cannot be shared.');
      const { imported } = await bridge.invoke('library:import', { paths });
      return imported;
    },
    showInFolder: (id) => bridge.showInFolder(id),
    openFile: (id) => bridge.openFile(id),
    ready: () => bridge.ready(),
    onConnectionChange(listener) {
      listener('open');
      return () => {};
    },
  };
}
