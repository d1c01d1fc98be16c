import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';
import { writeFileSync } from 'node:fs';

// The editor is served by `trovato serve` (and the desktop app) at /admin/;
// it talks only to /api/v1 on the same origin.
export default defineConfig({
  base: '/admin/',
  resolve: {
    // CodeMirror's styles as adopted style sheets, allowed by the CSP.
    alias: { 'style-mod': fileURLToPath(new URL('./src/vendor/style-mod.js', import.meta.url)) },
  },
  plugins: [{
    name: 'keep-gitkeep',
    closeBundle() { writeFileSync(fileURLToPath(new URL('./dist/.gitkeep', import.meta.url)), ''); },
  }],
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    emptyOutDir: true, // old hashed files would be embedded too; .gitkeep is written back below
    target: 'es2022',
    sourcemap: false,
    assetsInlineLimit: 0, // the CSP allows data: images only; keep every asset a file
    chunkSizeWarningLimit: 400,
  },
  server: {
    proxy: { '/api': 'http://127.0.0.1:8080', '/files': 'http://127.0.0.1:8080' },
  },
});
