import { defineConfig } from 'vite';

// Relative asset URLs, so that dist/ works wherever it is served from (the server root with `restgres dev`, or a
// sub-folder of any static host). Hashed file names let Restgres cache the assets for good (Http/StaticFiles.cs).
export default defineConfig({
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 600,
  },
});
