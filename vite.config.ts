// The renderer: built once into dist/renderer, served by the browser-mode host
// or loaded from disk by Electron. No remote content: everything is bundled.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: 'renderer',
  base: './',
  plugins: [react()],
  build: { outDir: '../dist/renderer', emptyOutDir: true, sourcemap: true },
});
