import { defineConfig } from 'vite';

// The player bundle: `npm run build:player` builds player/ into dist/player, which the edge
// (standalone) and the matchmaker serve as static files. Relative asset paths so it can be served
// under any prefix. `--mode test` (scripts/buildPlayer.ts `testHook: true`, used by the e2e tests and
// bench/stream.ts) builds the same page with the test hook `window.__farplay` installed; the
// production bundle leaves it out (the constant below is false there and the code is dropped).
const root = decodeURIComponent(new URL('.', import.meta.url).pathname);

export default defineConfig(({ mode }) => ({
  root,
  base: './',
  publicDir: false,
  logLevel: 'warn',
  define: { __FARPLAY_TEST_HOOK__: JSON.stringify(mode === 'test') },
  build: {
    outDir: `${root}../dist/${mode === 'test' ? 'player-test' : 'player'}`,
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    reportCompressedSize: false,
  },
}));
