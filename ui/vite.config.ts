import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// The window is served by Tauri from the embedded dist/; the CSP allows only same-origin
// scripts and styles, so nothing may be inlined.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [svelte()],
  clearScreen: false,
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'safari15',
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  server: { port: 1420, strictPort: true },
  test: { include: ['src/**/*.test.ts'] },
});
