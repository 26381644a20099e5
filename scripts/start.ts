// `npm start`: runs Farplay locally with embedded defaults (no external services).
// Wired up part by part; see README.md.
console.log('Farplay skeleton: nothing to run yet.');
