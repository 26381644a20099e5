/** True in the test build (`vite build --mode test`): installs the test hook `window.__farplay`. */
declare const __FARPLAY_TEST_HOOK__: boolean;
