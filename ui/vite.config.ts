// Builds the dashboard into dist/ui (served at /ui/ by the service): `npm run build` runs it.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  base: '/ui/',
  publicDir: false,
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic' } },
  // The graph layout worker (large graphs) is an ES module file beside the app's, allowed by `script-src 'self'`.
  worker: { format: 'es' },
  build: {
    outDir: fileURLToPath(new URL('../dist/ui', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
    // No inline module-preload polyfill: the CSP allows same-origin script files only.
    modulePreload: { polyfill: false },
    rolldownOptions: {
      // React libraries mark their files "use client" (for server components); a client bundle has no use for it.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
});
