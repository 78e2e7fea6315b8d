import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cspMetaPlugin } from './electron/csp.js';

const root = path.dirname(fileURLToPath(import.meta.url));

/** main → out/main/index.js (ESM), preload → out/preload/index.cjs (sandboxed preloads must be CommonJS), renderer → out/renderer. */
export default defineConfig({
  main: {
    build: {
      rolldownOptions: { input: { index: path.join(root, 'electron/main.ts') } },
    },
  },
  preload: {
    build: {
      rolldownOptions: {
        input: { index: path.join(root, 'electron/preload.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: path.join(root, 'renderer'),
    plugins: [react(), cspMetaPlugin()],
    build: {
      rolldownOptions: { input: { index: path.join(root, 'renderer/index.html') } },
    },
  },
});
