// The renderer: built once into dist/renderer, served by the browser-mode host
// or loaded from disk by Electron. No remote content: everything is bundled.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: 'renderer',
  base: './',
  plugins: [react()],
  // One local bundle (React, xterm): size matters less than a single load from disk.
  build: { outDir: '../dist/renderer', emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 2000 },
});
