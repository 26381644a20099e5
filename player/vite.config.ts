import { defineConfig } from 'vite';

// The player bundle: `npm run build:player` builds player/ into dist/player, which the edge
// (standalone) and the matchmaker serve as static files. Relative asset paths so it can be served
// under any prefix.
const root = decodeURIComponent(new URL('.', import.meta.url).pathname);

export default defineConfig({
  root,
  base: './',
  publicDir: false,
  logLevel: 'warn',
  build: {
    outDir: `${root}../dist/player`,
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    reportCompressedSize: false,
  },
});
