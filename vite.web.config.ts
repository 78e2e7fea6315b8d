import react from '@vitejs/plugin-react';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { cspMetaPlugin } from './electron/csp.js';

const root = path.dirname(fileURLToPath(import.meta.url));

/** The renderer built for the browser, served by `mactella serve` from dist-web/. */
export default defineConfig({
  root: path.join(root, 'renderer'),
  base: './',
  plugins: [react(), cspMetaPlugin()],
  build: {
    outDir: path.join(root, 'dist-web'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
  },
});
